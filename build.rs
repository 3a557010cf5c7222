//! Build script. On Windows with the WDK (the `cargo make` flow) wdk-build configures the KMDF driver
//! link (entry point, /DRIVER, WDK library paths). On Linux, and for the Linux cross-build of the
//! `.sys` (`--cfg no_wdk`), it does nothing: build scripts are host code, and the cross-build's link
//! arguments come from `.ci/build-sys`.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(all(windows, not(no_wdk)))]
    {
        if let Err(error) = wdk_build::configure_wdk_binary_build() {
            panic!("wdk-build could not configure the driver build: {error:?}");
        }
    }
}
