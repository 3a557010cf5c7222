//! Helpers of tests/inf_consistency.rs: loading the INX files and every consistency check, each
//! returning the problems it found (the tests assert there are none, and that broken copies are
//! caught).

use std::path::PathBuf;

use super::inf_parser::*;
use super::*;

pub(crate) fn inx_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("inf")
        .join(name)
}

pub(crate) fn read_bytes(name: &str) -> Vec<u8> {
    let path = inx_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub(crate) fn load(name: &str) -> Inf {
    let bytes = read_bytes(name);
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|_| panic!("{name} is not UTF-8 (it must be ASCII)"));
    Inf::parse(name, &text).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "INX problems:\n  {}",
        problems.join("\n  ")
    );
}

/// Which edge an INX describes; fixes the expected values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    Protocol,
    Miniport,
}

impl Edge {
    pub(crate) fn class(self) -> (&'static str, &'static str) {
        match self {
            Edge::Protocol => ("NetTrans", NETTRANS_CLASS_GUID),
            Edge::Miniport => ("Net", NET_CLASS_GUID),
        }
    }
    pub(crate) fn service(self) -> &'static str {
        match self {
            Edge::Protocol => PROTOCOL_SERVICE_NAME,
            Edge::Miniport => MINIPORT_SERVICE_NAME,
        }
    }
    pub(crate) fn hardware_id(self) -> &'static str {
        match self {
            Edge::Protocol => PROTOCOL_ID,
            Edge::Miniport => MINIPORT_ID,
        }
    }
    /// (UpperRange, LowerRange) as designed.
    pub(crate) fn ranges(self) -> (&'static str, &'static str) {
        match self {
            Edge::Protocol => ("noupper", "ndis5"),
            Edge::Miniport => ("ndis5", "nolower"),
        }
    }
    pub(crate) fn inx(self) -> &'static str {
        match self {
            Edge::Protocol => PROTOCOL_INX,
            Edge::Miniport => MINIPORT_INX,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Checks (each returns its problems; empty = pass)
// ---------------------------------------------------------------------------------------------------

pub(crate) fn check_ascii(name: &str, bytes: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(pos) = bytes
        .iter()
        .position(|&b| b >= 0x80 || (b < 0x20 && !b"\t\r\n".contains(&b)))
    {
        let line = bytes[..pos].iter().filter(|&&b| b == b'\n').count() + 1;
        problems.push(format!(
            "{name}:{line}: byte 0x{:02x} is not printable ASCII (InfVerif 1003 accepts ANSI or UTF-16LE; \
             the INX is kept ASCII)",
            bytes[pos]
        ));
    }
    problems
}

pub(crate) fn check_version(inf: &Inf, edge: Edge) -> Vec<String> {
    let mut problems = Vec::new();
    let (class, guid) = edge.class();
    match inf.value("Version", "Class") {
        Ok(v) if v.eq_ignore_ascii_case(class) => {}
        Ok(v) => problems.push(format!("{}: Class = {v}, expected {class}", inf.file)),
        Err(e) => problems.push(e),
    }
    match inf.value("Version", "ClassGuid") {
        Ok(v) if v.eq_ignore_ascii_case(guid) => {}
        Ok(v) => problems.push(format!(
            "{}: ClassGuid = {v}, expected {guid} for {class}",
            inf.file
        )),
        Err(e) => problems.push(e),
    }
    match inf.value("Version", "Signature") {
        Ok(v) if fields(&v)[0].eq_ignore_ascii_case("$Windows NT$") => {}
        Ok(v) => problems.push(format!("{}: Signature = {v}", inf.file)),
        Err(e) => problems.push(e),
    }
    match inf.value("Version", "PnpLockdown") {
        Ok(v) if v == "1" => {}
        Ok(v) => problems.push(format!(
            "{}: PnpLockdown = {v}, InfVerif 1324 needs 1",
            inf.file
        )),
        Err(e) => problems.push(e),
    }
    // stampinf fills DriverVer and CatalogFile; the keys must exist and the catalog must be the one
    // Makefile.toml passes with -c (<inf stem>.cat).
    if inf.values("Version", "DriverVer").is_empty() {
        problems.push(format!(
            "{}: [Version] has no DriverVer line for stampinf",
            inf.file
        ));
    }
    let catalog = format!("{}.cat", edge.inx().strip_suffix(".inx").unwrap());
    match inf.value("Version", "CatalogFile") {
        Ok(v) if v.eq_ignore_ascii_case(&catalog) => {}
        Ok(v) => problems.push(format!(
            "{}: CatalogFile = {v}, expected {catalog}",
            inf.file
        )),
        Err(e) => problems.push(e),
    }
    problems
}

pub(crate) fn check_provider(inf: &Inf) -> Vec<String> {
    let mut problems = Vec::new();
    let provider = match inf.value("Version", "Provider") {
        Ok(v) => inf.expand(&fields(&v)[0]),
        Err(e) => return vec![e],
    };
    if provider.contains('%') || provider.is_empty() {
        problems.push(format!(
            "{}: Provider does not resolve: {provider:?}",
            inf.file
        ));
    }
    let manufacturers: Vec<String> = inf
        .lines("Manufacturer")
        .filter_map(|l| l.key.as_deref().map(|k| inf.expand(k)))
        .collect();
    for name in std::iter::once(&provider).chain(&manufacturers) {
        if name.to_ascii_lowercase().contains("microsoft") {
            problems.push(format!(
                "{}: provider/manufacturer {name:?} must not be Microsoft (InfVerif 1204)",
                inf.file
            ));
        }
    }
    problems
}

pub(crate) fn check_tokens(inf: &Inf) -> Vec<String> {
    inf.used_tokens()
        .into_iter()
        .filter(|(_, token)| inf.string(token).is_none())
        .map(|(line, token)| format!("{}:{line}: %{token}% is not defined in [Strings]", inf.file))
        .collect()
}

pub(crate) fn check_models(inf: &Inf, edge: Edge) -> Vec<String> {
    let mut problems = Vec::new();
    let decorations: BTreeSet<String> = inf
        .models_sections()
        .into_iter()
        .map(|(_, d)| d.to_ascii_lowercase())
        .collect();
    let expected: BTreeSet<String> = [
        "nt$arch$".to_string(),
        format!("nt$arch$.10.0...{DRIVER_STORE_BUILD}"),
    ]
    .into_iter()
    .collect();
    if decorations != expected {
        problems.push(format!(
            "{}: [Manufacturer] decorations {decorations:?}, expected {expected:?}",
            inf.file
        ));
    }
    let models = inf.models();
    if models.is_empty() {
        problems.push(format!("{}: no models", inf.file));
    }
    for model in &models {
        if !inf.has_section(&model.models_section) {
            problems.push(format!(
                "{}: models section [{}] missing",
                inf.file, model.models_section
            ));
        }
        if model.ids != [edge.hardware_id()] {
            problems.push(format!(
                "{}: [{}] lists IDs {:?}, expected [{}]",
                inf.file,
                model.models_section,
                model.ids,
                edge.hardware_id()
            ));
        }
        for id in &model.ids {
            if id.to_ascii_lowercase().starts_with("ms_") {
                problems.push(format!(
                    "{}: ID {id} uses the MS_ prefix, which is Microsoft's",
                    inf.file
                ));
            }
        }
        if !inf.has_section(&model.install) {
            problems.push(format!(
                "{}: install section [{}] missing",
                inf.file, model.install
            ));
        }
    }
    problems
}

/// Ndi Service, AddService, ServiceBinary, CopyFiles and Wdf of every install section.
pub(crate) fn check_services(inf: &Inf, edge: Edge) -> Vec<String> {
    let mut problems = Vec::new();
    let binary = driver_binary();
    for model in inf.models() {
        let install = &model.install;
        let driver_store = model.models_section.ends_with(DRIVER_STORE_BUILD);
        let dirid = if driver_store { "13" } else { "12" };

        // Ndi\Service: what NetCfg starts; for the protocol also NDIS's name for the binding.
        let ndi_services = inf.ndi(install, "Ndi", "Service");
        if ndi_services != [edge.service()] {
            problems.push(format!(
                "{}: [{install}] HKR,Ndi,Service = {ndi_services:?}, expected [{:?}]",
                inf.file,
                edge.service()
            ));
        }

        // AddService must create exactly that service.
        let add = inf.add_services(install);
        if add.len() != 1 {
            problems.push(format!(
                "{}: [{install}.Services] has {} AddService lines, expected 1",
                inf.file,
                add.len()
            ));
            continue;
        }
        let add = &add[0];
        if !add[0].eq_ignore_ascii_case(edge.service()) {
            problems.push(format!(
                "{}: [{install}.Services] AddService = {}, but Ndi Service is {}",
                inf.file,
                add[0],
                edge.service()
            ));
        }
        let flags = add.get(1).and_then(|f| parse_u32(f));
        let expected_flags = match edge {
            Edge::Protocol => 0,
            Edge::Miniport => SPSVCINST_ASSOCSERVICE,
        };
        if flags != Some(expected_flags) {
            problems.push(format!(
                "{}: [{install}.Services] AddService flags {flags:?}, expected {expected_flags}",
                inf.file
            ));
        }
        if edge == Edge::Protocol && add.get(3).is_none_or(|s| s.is_empty()) {
            problems.push(format!(
                "{}: [{install}.Services] has no event-log section",
                inf.file
            ));
        }
        let service_section = add.get(2).cloned().unwrap_or_default();
        for (key, want) in [("ServiceType", 1), ("StartType", 3), ("ErrorControl", 1)] {
            let got = inf
                .value(&service_section, key)
                .ok()
                .and_then(|v| parse_u32(&v));
            if got != Some(want) {
                problems.push(format!(
                    "{}: [{service_section}] {key} = {got:?}, expected {want}",
                    inf.file
                ));
            }
        }
        match inf.value(&service_section, "ServiceBinary") {
            Ok(v) => {
                let want = format!("%{dirid}%\\{binary}");
                if !v.eq_ignore_ascii_case(&want) {
                    problems.push(format!(
                        "{}: [{service_section}] ServiceBinary = {v}, expected {want}",
                        inf.file
                    ));
                }
            }
            Err(e) => problems.push(e),
        }

        // The binary must be copied (to the same DIRID) and listed as a source file.
        problems.extend(check_copied_once(inf, install, &binary, dirid));
        problems.extend(check_source_listed(inf, &binary));

        // KMDF: <install>.Wdf names the same service and a section with the stamped version.
        match inf.value(&format!("{install}.Wdf"), "KmdfService") {
            Ok(v) => {
                let f = fields(&v);
                if !f[0].eq_ignore_ascii_case(edge.service()) {
                    problems.push(format!(
                        "{}: [{install}.Wdf] KmdfService names {}, expected {}",
                        inf.file,
                        f[0],
                        edge.service()
                    ));
                }
                match f.get(1).map(|s| inf.value(s, "KmdfLibraryVersion")) {
                    Some(Ok(v)) if v == "$KMDFVERSION$" => {}
                    Some(Ok(v)) => problems.push(format!(
                        "{}: KmdfLibraryVersion = {v}, expected $KMDFVERSION$ (stampinf -k)",
                        inf.file
                    )),
                    Some(Err(e)) => problems.push(e),
                    None => problems.push(format!(
                        "{}: [{install}.Wdf] KmdfService has no section",
                        inf.file
                    )),
                }
            }
            Err(e) => problems.push(e),
        }
    }
    problems
}

/// Problems with how `[install]` copies `file`: exactly one of its CopyFiles sections must name
/// it, and that section's destination must be DIRID `dirid`.
pub(crate) fn check_copied_once(inf: &Inf, install: &str, file: &str, dirid: &str) -> Vec<String> {
    let copies: Vec<String> = inf
        .values(install, "CopyFiles")
        .iter()
        .flat_map(|v| fields(v))
        .filter(|s| {
            inf.lines(s)
                .any(|l| fields(&l.value)[0].eq_ignore_ascii_case(file))
        })
        .collect();
    match copies.as_slice() {
        [section] => {
            let dest = inf.dest_dirid(section);
            if dest.as_deref() == Some(dirid) {
                Vec::new()
            } else {
                vec![format!(
                    "{}: [{section}] copies {file} to DIRID {dest:?}, expected {dirid}",
                    inf.file
                )]
            }
        }
        _ => vec![format!(
            "{}: [{install}] must copy {file} exactly once",
            inf.file
        )],
    }
}

/// The problem if `[SourceDisksFiles]` does not list `file`.
pub(crate) fn check_source_listed(inf: &Inf, file: &str) -> Option<String> {
    let listed = inf.lines("SourceDisksFiles").any(|l| {
        l.key
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case(file))
    });
    (!listed).then(|| format!("{}: [SourceDisksFiles] does not list {file}", inf.file))
}

pub(crate) fn check_ranges(inf: &Inf, edge: Edge) -> Vec<String> {
    let mut problems = Vec::new();
    let (upper, lower) = edge.ranges();
    for model in inf.models() {
        for (name, want) in [("UpperRange", upper), ("LowerRange", lower)] {
            let got = inf.ndi(&model.install, "Ndi\\Interfaces", name);
            if got != [want] {
                problems.push(format!(
                    "{}: [{}] {name} = {got:?}, expected [{want:?}]",
                    inf.file, model.install
                ));
            }
        }
    }
    problems
}

pub(crate) fn check_characteristics(inf: &Inf, edge: Edge) -> Vec<String> {
    let mut problems = Vec::new();
    for model in inf.models() {
        let install = &model.install;
        let c = match inf.value(install, "Characteristics").map(|v| parse_u32(&v)) {
            Ok(Some(c)) => c,
            Ok(None) => {
                problems.push(format!(
                    "{}: [{install}] Characteristics is not a number",
                    inf.file
                ));
                continue;
            }
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        // NCF_HAS_UI only together with something that supplies the UI: a notify object (ClsID,
        // ComponentDll) for the protocol, Ndi\params (Advanced tab) for the adapter.
        let has_ui_source = match edge {
            Edge::Protocol => !inf.ndi(install, "Ndi", "ClsID").is_empty(),
            Edge::Miniport => inf
                .addreg_sections(install)
                .iter()
                .flat_map(|s| inf.hkr_values(s))
                .any(|(k, _, _)| k.to_ascii_lowercase().starts_with("ndi\\params\\")),
        };
        if (c & NCF_HAS_UI != 0) != has_ui_source {
            problems.push(format!(
                "{}: [{install}] Characteristics 0x{c:x}: NCF_HAS_UI must be set exactly when a UI source exists ({})",
                inf.file,
                if has_ui_source { "there is one" } else { "there is none" }
            ));
        }
        match edge {
            Edge::Protocol => {
                if c & !NCF_HAS_UI != 0 {
                    problems.push(format!(
                        "{}: [{install}] unexpected Characteristics bits 0x{c:x}",
                        inf.file
                    ));
                }
                let copy_inf: Vec<String> = inf
                    .values(install, "CopyInf")
                    .iter()
                    .flat_map(|v| fields(v))
                    .collect();
                if copy_inf != [inf_name(MINIPORT_INX)] {
                    problems.push(format!(
                        "{}: [{install}] CopyInf = {copy_inf:?}, expected [{:?}]",
                        inf.file,
                        inf_name(MINIPORT_INX)
                    ));
                }
            }
            Edge::Miniport => {
                if c & NCF_VIRTUAL == 0 || c & NCF_NOT_USER_REMOVABLE == 0 {
                    problems.push(format!(
                        "{}: [{install}] Characteristics 0x{c:x} lacks NCF_VIRTUAL|NCF_NOT_USER_REMOVABLE",
                        inf.file
                    ));
                }
                for (key, want) in [("*IfType", 6), ("*MediaType", 0), ("*PhysicalMediaType", 0)] {
                    let got = inf.value(install, key).ok().and_then(|v| parse_u32(&v));
                    if got != Some(want) {
                        problems.push(format!(
                            "{}: [{install}] {key} = {got:?}, expected {want}",
                            inf.file
                        ));
                    }
                }
            }
        }
    }
    problems
}

pub(crate) fn check_exclude_from_select(inf: &Inf) -> Vec<String> {
    let excluded: Vec<String> = inf
        .values("ControlFlags", "ExcludeFromSelect")
        .iter()
        .flat_map(|v| fields(v))
        .collect();
    let mut problems = Vec::new();
    for model in inf.models() {
        for id in &model.ids {
            if !excluded
                .iter()
                .any(|e| e.eq_ignore_ascii_case(id) || e == "*")
            {
                problems.push(format!(
                    "{}: ExcludeFromSelect {excluded:?} does not name {id}",
                    inf.file
                ));
            }
        }
    }
    if excluded.is_empty() {
        problems.push(format!(
            "{}: [ControlFlags] ExcludeFromSelect missing",
            inf.file
        ));
    }
    problems
}

/// Everything that applies to one INX.
pub(crate) fn check_all(inf: &Inf, bytes: &[u8], edge: Edge) -> Vec<String> {
    let mut problems = check_ascii(&inf.file, bytes);
    problems.extend(check_version(inf, edge));
    problems.extend(check_provider(inf));
    problems.extend(check_tokens(inf));
    problems.extend(check_models(inf, edge));
    problems.extend(check_services(inf, edge));
    problems.extend(check_ranges(inf, edge));
    problems.extend(check_characteristics(inf, edge));
    if edge == Edge::Miniport {
        problems.extend(check_exclude_from_select(inf));
    }
    problems
}
