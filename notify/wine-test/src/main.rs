//! Loads the real `chimney_im_notify.dll` (its path is the first argument) under Wine, gets the notify object
//! through `DllGetClassObject`, and drives it the way NetCfg does with the fakes of `fakes.rs`:
//! install → bind add → apply → disable → apply → adapter removal → uninstall, plus cancel and
//! failure paths. Checks the calls made on the fakes and the values really written to (and
//! removed from) Wine's registry. Exits non-zero on the first failed check.

#[cfg(windows)]
mod fakes;
#[cfg(windows)]
mod fakes_binding;
#[cfg(windows)]
mod notify;
#[cfg(windows)]
mod registry;
#[cfg(windows)]
mod scenario;
#[cfg(windows)]
mod scenario_failures;

#[cfg(windows)]
fn main() {
    let dll = std::env::args()
        .nth(1)
        .expect("usage: chimney-im-notify-wine-test <path to chimney_im_notify.dll>");
    match scenario::run(&dll) {
        Ok(checks) => println!("notify wine test: all {checks} checks passed"),
        Err(message) => {
            eprintln!("notify wine test FAILED: {message}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(windows))]
fn main() {
    eprintln!(
        "chimney-im-notify-wine-test is a Windows program: .ci/wine-notify runs it under Wine"
    );
}
