//! Behaviours that mutation testing (`.ci/mutants`, cargo-mutants) showed no other test pins:
//! each test here fails when the named part of the driver is changed. Which mutant each one
//! kills is in its doc comment.

use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

/// `passthrough::status::forwarded` → true: only link state and the three chimney offload codes
/// go up; the lower adapter's reset and media codes describe it to its own bindings.
#[test]
fn status_codes_the_host_does_not_need_are_not_forwarded() {
    let mut m = one_adapter(AdapterPolicy::default(), 31);
    for code in [
        NDIS_STATUS_RESET_START,
        NDIS_STATUS_RESET_END,
        NDIS_STATUS_MEDIA_CONNECT,
    ] {
        assert!(m.lower_indicate_status(A, code), "{code:#x} indicated");
    }
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.totals.status_from_lower, 3, "{r}");
    assert_eq!(r.totals.status_to_host, 0, "{r}");
}
