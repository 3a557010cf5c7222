//! `#[host_unwind]` keeps an item exactly as written for the kernel image and gives host builds
//! (the Linux tests, and the Wine tier's `windows_host` build of the crate) the same item with
//! every `extern "system"` turned into `extern "system-unwind"`.
//!
//! Why: a Rust panic that reaches an `extern "system"` function aborts the process. In the kernel
//! image that is moot (the image is `panic = "abort"` and its panic handler bugchecks), but in the
//! host tests a failed `debug_assert!` inside a driver handler would take the whole test binary
//! down instead of failing one test. With `"system-unwind"` the panic unwinds through the handler
//! to the NDIS model, which records it and fails that test. The calling convention is the same;
//! the image is built from the unchanged tokens.
//!
//! Applies to functions, function-pointer type aliases and `extern` blocks (their declarations
//! then allow unwinding too). The expansion is the item twice:
//! `#[cfg(all(windows, not(windows_host)))]` as written, and the rewritten copy under the negated
//! cfg.

use proc_macro::{Group, Literal, TokenStream, TokenTree};

/// See the crate documentation.
#[proc_macro_attribute]
pub fn host_unwind(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return "compile_error!(\"#[host_unwind] takes no arguments\");"
            .parse()
            .unwrap_or_default();
    }
    let host = rewrite(item.clone());
    let mut out: TokenStream = "#[cfg(all(windows, not(windows_host)))]"
        .parse()
        .unwrap_or_default();
    out.extend(item);
    out.extend(
        "#[cfg(not(all(windows, not(windows_host))))]"
            .parse::<TokenStream>()
            .unwrap_or_default(),
    );
    out.extend(host);
    out
}

/// `extern "system"` -> `extern "system-unwind"`, at any depth.
fn rewrite(ts: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut after_extern = false;
    for tt in ts {
        let tt = match tt {
            TokenTree::Group(g) => {
                let mut n = Group::new(g.delimiter(), rewrite(g.stream()));
                n.set_span(g.span());
                TokenTree::Group(n)
            }
            TokenTree::Literal(l) if after_extern && l.to_string() == "\"system\"" => {
                let mut n = Literal::string("system-unwind");
                n.set_span(l.span());
                TokenTree::Literal(n)
            }
            other => other,
        };
        after_extern = matches!(&tt, TokenTree::Ident(i) if i.to_string() == "extern");
        out.push(tt);
    }
    out.into_iter().collect()
}
