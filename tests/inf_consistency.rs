//! Consistency checks between the two INX files in `inf/` and the driver code.
//!
//! The INX files are the sources stampinf turns into `chimney_im.inf` (protocol edge, NetTrans) and
//! `chimney_im_mp.inf` (virtual-miniport edge, Net). Nothing on Linux installs them, so these checks
//! are the only guard against the names drifting apart: NDIS matches bindings to the driver by the
//! protocol name given to NdisRegisterProtocolDriver, which must equal the protocol INF's
//! `HKR, Ndi, Service` value, and so on. Every check is a function returning a list of problems, so
//! `checks_catch_broken_inx` can feed it a damaged copy and prove that it fails.
//!
//! The parser understands the INF subset these files use: `[sections]`, `key = value` lines, bare
//! lines (AddReg and CopyFiles entries), `;` comments outside quotes, `"quoted"` fields, `%token%`
//! string substitutions (`%%` is a literal percent sign, `%13%` a DIRID) and stampinf's `$...$`
//! placeholders. INF names are case-insensitive; section and key look-ups here are too.

use std::collections::BTreeSet;

use chimney_im::driver::PROTOCOL_SERVICE_NAME;

// ---------------------------------------------------------------------------------------------------
// Design constants (see the INX headers and docs/windows.md)
// ---------------------------------------------------------------------------------------------------

const PROTOCOL_INX: &str = "chimney_im.inx";
const MINIPORT_INX: &str = "chimney_im_mp.inx";

const NETTRANS_CLASS_GUID: &str = "{4D36E975-E325-11CE-BFC1-08002BE10318}";
const NET_CLASS_GUID: &str = "{4D36E972-E325-11CE-BFC1-08002BE10318}";

const PROTOCOL_ID: &str = "chimneyim_p";
const MINIPORT_ID: &str = "chimneyim_mp";
const MINIPORT_SERVICE_NAME: &str = "ChimneyImMp";

/// The build from which network INFs with a notify object may install from the driver store.
const DRIVER_STORE_BUILD: &str = "25341";

const NCF_VIRTUAL: u32 = 0x1;
const NCF_NOT_USER_REMOVABLE: u32 = 0x20;
const NCF_HAS_UI: u32 = 0x80;
const SPSVCINST_ASSOCSERVICE: u32 = 0x2;

/// `chimney_im.sys`: the crate's library name (package name with `-` → `_`) plus `.sys`, the name
/// wdk-build gives the driver binary.
fn driver_binary() -> String {
    format!("{}.sys", env!("CARGO_PKG_NAME").replace('-', "_"))
}

/// The INF file name stampinf's copy of an INX gets.
fn inf_name(inx: &str) -> String {
    format!("{}.inf", inx.strip_suffix(".inx").expect("INX file name"))
}

#[path = "support/inf_checks.rs"]
mod inf_checks;
#[path = "support/inf_notify.rs"]
mod inf_notify;
#[path = "support/inf_parser.rs"]
mod inf_parser;

use inf_checks::*;
use inf_notify::check_notify_object;
use inf_parser::*;

// ---------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------

#[test]
fn inx_files_are_pure_ascii() {
    let mut problems = check_ascii(PROTOCOL_INX, &read_bytes(PROTOCOL_INX));
    problems.extend(check_ascii(MINIPORT_INX, &read_bytes(MINIPORT_INX)));
    assert_no_problems(problems);
}

#[test]
fn protocol_inx_is_nettrans() {
    assert_no_problems(check_version(&load(PROTOCOL_INX), Edge::Protocol));
}

#[test]
fn miniport_inx_is_net() {
    assert_no_problems(check_version(&load(MINIPORT_INX), Edge::Miniport));
}

#[test]
fn protocol_ndi_service_is_the_registered_protocol_name() {
    let inf = load(PROTOCOL_INX);
    let models = inf.models();
    assert!(!models.is_empty(), "no models in {PROTOCOL_INX}");
    for model in models {
        assert_eq!(
            inf.ndi(&model.install, "Ndi", "Service"),
            [PROTOCOL_SERVICE_NAME],
            "[{}] HKR,Ndi,Service must equal chimney_im::driver::PROTOCOL_SERVICE_NAME",
            model.install
        );
    }
}

#[test]
fn services_match_ndi_and_name_the_driver_binary() {
    let mut problems = check_services(&load(PROTOCOL_INX), Edge::Protocol);
    problems.extend(check_services(&load(MINIPORT_INX), Edge::Miniport));
    assert_no_problems(problems);
}

#[test]
fn binding_ranges_are_as_designed() {
    let mut problems = check_ranges(&load(PROTOCOL_INX), Edge::Protocol);
    problems.extend(check_ranges(&load(MINIPORT_INX), Edge::Miniport));
    assert_no_problems(problems);
}

#[test]
fn characteristics_and_copyinf_are_consistent() {
    let mut problems = check_characteristics(&load(PROTOCOL_INX), Edge::Protocol);
    problems.extend(check_characteristics(&load(MINIPORT_INX), Edge::Miniport));
    assert_no_problems(problems);
}

#[test]
fn miniport_is_excluded_from_select() {
    assert_no_problems(check_exclude_from_select(&load(MINIPORT_INX)));
}

#[test]
fn models_split_at_driver_store_build_without_ms_ids() {
    let mut problems = check_models(&load(PROTOCOL_INX), Edge::Protocol);
    problems.extend(check_models(&load(MINIPORT_INX), Edge::Miniport));
    assert_no_problems(problems);
}

#[test]
fn provider_is_not_microsoft() {
    let mut problems = check_provider(&load(PROTOCOL_INX));
    problems.extend(check_provider(&load(MINIPORT_INX)));
    assert_no_problems(problems);
}

#[test]
fn every_string_token_is_defined() {
    let mut problems = check_tokens(&load(PROTOCOL_INX));
    problems.extend(check_tokens(&load(MINIPORT_INX)));
    assert_no_problems(problems);
}

#[test]
fn both_inx_pass_all_checks() {
    for edge in [Edge::Protocol, Edge::Miniport] {
        assert_no_problems(check_all(&load(edge.inx()), &read_bytes(edge.inx()), edge));
    }
}

/// The protocol INX registers the notify object the DLL really is, and ships the DLL.
#[test]
fn notify_object_matches_the_dll() {
    use chimney_im_notify::{CLSID_TEXT, DLL_NAME, MINIPORT_HARDWARE_ID, PROTOCOL_COMPONENT_ID};
    assert_eq!(
        MINIPORT_HARDWARE_ID, MINIPORT_ID,
        "the hardware ID the notify object installs"
    );
    assert_eq!(PROTOCOL_COMPONENT_ID, PROTOCOL_ID);
    assert_eq!(chimney_im_notify::PROTOCOL_SERVICE, PROTOCOL_SERVICE_NAME);
    assert_no_problems(check_notify_object(
        &load(PROTOCOL_INX),
        CLSID_TEXT,
        DLL_NAME,
    ));
}

/// The notify checks must be able to fail too.
#[test]
fn notify_checks_catch_broken_inx() {
    use chimney_im_notify::{CLSID_TEXT, DLL_NAME};
    let protocol = String::from_utf8(read_bytes(PROTOCOL_INX)).unwrap();
    let cases = [
        (
            "other CLSID",
            CLSID_TEXT,
            "{00000000-0000-0000-0000-000000000001}",
        ),
        ("other DLL name", "\"chimney_im_notify.dll\"", "\"mux.dll\""),
        ("DLL not copied", ", ChimneyImP.CopyFiles.Notify", ""),
        (
            "legacy DLL to the driver store",
            "ChimneyImP_Legacy.CopyFiles.Notify = 11",
            "ChimneyImP_Legacy.CopyFiles.Notify = 13",
        ),
        (
            "no source file",
            "chimney_im_notify.dll = 1",
            "other.dll = 1",
        ),
    ];
    for (what, from, to) in cases {
        assert!(
            protocol.contains(from),
            "mutation {what:?}: {from:?} not found"
        );
        let damaged = protocol.replacen(from, to, 1);
        let inf = Inf::parse(PROTOCOL_INX, &damaged).expect("damaged copy still parses");
        assert!(
            !check_notify_object(&inf, CLSID_TEXT, DLL_NAME).is_empty(),
            "mutation {what:?} was not caught"
        );
    }
}

/// The checks must be able to fail: damage a copy of each INX in one way at a time and require
/// at least one problem.
#[test]
fn checks_catch_broken_inx() {
    let protocol = String::from_utf8(read_bytes(PROTOCOL_INX)).unwrap();
    let miniport = String::from_utf8(read_bytes(MINIPORT_INX)).unwrap();
    let cases: &[(Edge, &str, &str, &str)] = &[
        (
            Edge::Protocol,
            "Ndi service renamed",
            "HKR, Ndi,            Service,    0, \"ChimneyImP\"",
            "HKR, Ndi, Service, 0, \"ChimneyImX\"",
        ),
        (
            Edge::Protocol,
            "AddService renamed",
            "AddService = ChimneyImP, , ChimneyImP.AddService",
            "AddService = Other, , ChimneyImP.AddService",
        ),
        (
            Edge::Protocol,
            "wrong class",
            "Class       = NetTrans",
            "Class       = NetService",
        ),
        (
            Edge::Protocol,
            "CopyInf wrong",
            "CopyInf         = chimney_im_mp.inf",
            "CopyInf         = mux_mp.inf",
        ),
        (
            Edge::Protocol,
            "notify object without HAS_UI",
            "Characteristics = 0x80 ;",
            "Characteristics = 0x0 ;",
        ),
        (
            Edge::Protocol,
            "wrong binary",
            "ServiceBinary = %13%\\chimney_im.sys",
            "ServiceBinary = %13%\\mux.sys",
        ),
        (
            Edge::Protocol,
            "Microsoft provider",
            "ProviderName        = \"Chimney IM Project\"",
            "ProviderName = \"Microsoft\"",
        ),
        (
            Edge::Protocol,
            "undefined token",
            "%ChimneyImP.Desc% = ChimneyImP.ndi",
            "%Undefined.Desc% = ChimneyImP.ndi",
        ),
        (
            Edge::Protocol,
            "MS_ id",
            "ChimneyImP.ndi, chimneyim_p",
            "ChimneyImP.ndi, ms_chimneyimp",
        ),
        (
            Edge::Protocol,
            "lower range",
            "LowerRange, 0, \"ndis5\"",
            "LowerRange, 0, \"ethernet\"",
        ),
        (
            Edge::Protocol,
            "non-ASCII",
            "Chimney IM Protocol\"",
            "Chimney IM Protoc\u{f6}l\"",
        ),
        (
            Edge::Protocol,
            "no PnpLockdown",
            "PnpLockdown = 1",
            "PnpLockdown = 0",
        ),
        (
            Edge::Protocol,
            "KMDF service",
            "KmdfService = ChimneyImP, ChimneyIm_wdfsect",
            "KmdfService = ChimneyImMp, ChimneyIm_wdfsect",
        ),
        (
            Edge::Miniport,
            "not excluded",
            "ExcludeFromSelect = chimneyim_mp",
            "ExcludeFromSelect = something_else",
        ),
        (
            Edge::Miniport,
            "miniport lower range",
            "LowerRange, 0, \"nolower\"",
            "LowerRange, 0, \"ethernet\"",
        ),
        (
            Edge::Miniport,
            "not virtual",
            "Characteristics    = 0x21",
            "Characteristics    = 0x20",
        ),
        (
            Edge::Miniport,
            "not ASSOCSERVICE",
            "AddService = ChimneyImMp, 2,",
            "AddService = ChimneyImMp, 0,",
        ),
        (
            Edge::Miniport,
            "wrong class guid",
            "{4D36E972-E325-11CE-BFC1-08002BE10318}",
            "{4D36E975-E325-11CE-BFC1-08002BE10318}",
        ),
        (
            Edge::Miniport,
            "legacy DIRID",
            "ServiceBinary = %12%\\chimney_im.sys",
            "ServiceBinary = %13%\\chimney_im.sys",
        ),
    ];
    for &(edge, what, from, to) in cases {
        let original = match edge {
            Edge::Protocol => &protocol,
            Edge::Miniport => &miniport,
        };
        assert!(
            original.contains(from),
            "mutation {what:?}: {from:?} not found in {}",
            edge.inx()
        );
        let damaged = original.replacen(from, to, 1);
        let inf = Inf::parse(edge.inx(), &damaged).expect("damaged copy still parses");
        let problems = check_all(&inf, damaged.as_bytes(), edge);
        assert!(
            !problems.is_empty(),
            "mutation {what:?} of {} was not caught",
            edge.inx()
        );
    }
}

/// The parser itself: comments, quotes, tokens and `%%`.
#[test]
fn parser_handles_inf_syntax() {
    let text = "[Version]\nSignature = \"$WINDOWS NT$\" ; c\n[S]\nHKR, Ndi, HelpText, 0, \"a; b, c\" ; comment\n\
                HKR, , EventMessageFile, 0x20000, \"%%SystemRoot%%\\x\"\nX = %13%\\f.sys\nY = %Name%\n\
                [Strings]\nName = \"v=1\"\n";
    let inf = Inf::parse("t.inf", text).unwrap();
    assert_eq!(
        inf.value("version", "signature").unwrap(),
        "\"$WINDOWS NT$\""
    );
    let hkr = inf.hkr_values("s");
    assert_eq!(
        hkr[0],
        (
            "Ndi".to_string(),
            "HelpText".to_string(),
            "a; b, c".to_string()
        )
    );
    assert_eq!(hkr[1].2, "%%SystemRoot%%\\x");
    assert_eq!(inf.expand(&inf.value("S", "X").unwrap()), "%13%\\f.sys");
    assert_eq!(inf.expand(&inf.value("S", "Y").unwrap()), "v=1");
    let tokens: Vec<String> = inf.used_tokens().into_iter().map(|(_, t)| t).collect();
    assert_eq!(tokens, ["Name"]);
    assert!(Inf::parse("t.inf", "orphan = 1\n").is_err());
}
