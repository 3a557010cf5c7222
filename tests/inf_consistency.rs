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
use std::path::PathBuf;

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

// ---------------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Line {
    /// 1-based line number in the file, for messages.
    number: usize,
    /// The text left of `=`, trimmed; `None` for bare lines.
    key: Option<String>,
    /// The text right of `=` (or the whole line), comment removed, trimmed.
    value: String,
}

#[derive(Debug, Clone)]
struct Section {
    name: String,
    lines: Vec<Line>,
}

#[derive(Debug, Clone)]
struct Inf {
    file: String,
    sections: Vec<Section>,
}

/// Removes a `;` comment that is not inside double quotes.
fn strip_comment(line: &str) -> &str {
    let mut in_quotes = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Splits a value into comma-separated fields, honouring quotes; fields are trimmed and unquoted
/// (`""` inside quotes is an escaped quote).
fn fields(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

impl Inf {
    fn parse(file: &str, text: &str) -> Result<Inf, String> {
        let mut sections: Vec<Section> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let number = i + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .ok_or_else(|| format!("{file}:{number}: unterminated section header"))?;
                sections.push(Section {
                    name: name.trim().to_string(),
                    lines: Vec::new(),
                });
                continue;
            }
            let section = sections
                .last_mut()
                .ok_or_else(|| format!("{file}:{number}: text before the first section"))?;
            // A `=` inside quotes (e.g. in a HelpText string) does not make a key.
            let eq = {
                let mut in_quotes = false;
                line.char_indices().find_map(|(i, c)| match c {
                    '"' => {
                        in_quotes = !in_quotes;
                        None
                    }
                    '=' if !in_quotes => Some(i),
                    _ => None,
                })
            };
            let (key, value) = match eq {
                Some(i) => (
                    Some(line[..i].trim().to_string()),
                    line[i + 1..].trim().to_string(),
                ),
                None => (None, line.to_string()),
            };
            section.lines.push(Line { number, key, value });
        }
        Ok(Inf {
            file: file.to_string(),
            sections,
        })
    }

    /// All sections with this name (INF allows a name to repeat; the contents merge).
    fn sections<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections
            .iter()
            .filter(move |s| s.name.eq_ignore_ascii_case(name))
    }

    fn has_section(&self, name: &str) -> bool {
        self.sections(name).next().is_some()
    }

    fn lines<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a Line> + 'a {
        self.sections(section).flat_map(|s| s.lines.iter())
    }

    /// Values of `key = value` lines in a section.
    fn values(&self, section: &str, key: &str) -> Vec<String> {
        self.lines(section)
            .filter(|l| {
                l.key
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key))
            })
            .map(|l| l.value.clone())
            .collect()
    }

    /// The single value of a key, or a problem description.
    fn value(&self, section: &str, key: &str) -> Result<String, String> {
        match self.values(section, key).as_slice() {
            [v] => Ok(v.clone()),
            [] => Err(format!("{}: [{section}] has no {key}", self.file)),
            _ => Err(format!(
                "{}: [{section}] has more than one {key}",
                self.file
            )),
        }
    }

    /// `[Strings]` look-up (token names are case-insensitive).
    fn string(&self, token: &str) -> Option<String> {
        self.lines("Strings")
            .find(|l| {
                l.key
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(token))
            })
            .map(|l| fields(&l.value).remove(0))
    }

    /// Replaces `%token%` by its `[Strings]` value; `%%` and DIRIDs such as `%13%` stay as they are.
    fn expand(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find('%') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('%') {
                Some(0) => {
                    out.push_str("%%");
                    rest = &after[1..];
                }
                Some(end) => {
                    let token = &after[..end];
                    match self.string(token) {
                        Some(v) if !token.chars().all(|c| c.is_ascii_digit()) => out.push_str(&v),
                        _ => {
                            out.push('%');
                            out.push_str(token);
                            out.push('%');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// `%token%` names used outside `[Strings]` (DIRIDs and `%%` excluded), with line numbers.
    fn used_tokens(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for section in self
            .sections
            .iter()
            .filter(|s| !s.name.eq_ignore_ascii_case("Strings"))
        {
            for line in &section.lines {
                for text in line.key.iter().chain(std::iter::once(&line.value)) {
                    let mut rest = text.as_str();
                    while let Some(start) = rest.find('%') {
                        let after = &rest[start + 1..];
                        let Some(end) = after.find('%') else { break };
                        let token = &after[..end];
                        if !token.is_empty() && !token.chars().all(|c| c.is_ascii_digit()) {
                            out.push((line.number, token.to_string()));
                        }
                        rest = &after[end + 1..];
                    }
                }
            }
        }
        out
    }

    /// `HKR, <subkey>, <name>, <flags>, <value>` entries of an AddReg section: (subkey, name, value).
    fn hkr_values(&self, section: &str) -> Vec<(String, String, String)> {
        self.lines(section)
            .filter(|l| l.key.is_none())
            .map(|l| fields(&l.value))
            .filter(|f| f.len() >= 5 && f[0].eq_ignore_ascii_case("HKR"))
            .map(|f| (f[1].clone(), f[2].clone(), self.expand(&f[4])))
            .collect()
    }
}

/// One model line: the install section it names and its hardware IDs, with the models section.
#[derive(Debug, Clone)]
struct Model {
    models_section: String,
    install: String,
    ids: Vec<String>,
}

impl Inf {
    /// Every models section named in `[Manufacturer]`, with its decoration.
    fn models_sections(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for line in self.lines("Manufacturer") {
            let f = fields(&line.value);
            let base = &f[0];
            if f.len() == 1 {
                out.push((base.clone(), String::new()));
            }
            for decoration in f.iter().skip(1).filter(|d| !d.is_empty()) {
                out.push((format!("{base}.{decoration}"), decoration.clone()));
            }
        }
        out
    }

    fn models(&self) -> Vec<Model> {
        let mut out = Vec::new();
        for (section, _) in self.models_sections() {
            for line in self.lines(&section) {
                let f = fields(&line.value);
                out.push(Model {
                    models_section: section.clone(),
                    install: f[0].clone(),
                    ids: f[1..].iter().filter(|s| !s.is_empty()).cloned().collect(),
                });
            }
        }
        out
    }

    /// AddReg sections named by an install section.
    fn addreg_sections(&self, install: &str) -> Vec<String> {
        self.values(install, "AddReg")
            .iter()
            .flat_map(|v| fields(v))
            .collect()
    }

    /// The `Ndi` values of an install section: (subkey, name) -> value.
    fn ndi(&self, install: &str, subkey: &str, name: &str) -> Vec<String> {
        self.addreg_sections(install)
            .iter()
            .flat_map(|s| self.hkr_values(s))
            .filter(|(k, n, _)| k.eq_ignore_ascii_case(subkey) && n.eq_ignore_ascii_case(name))
            .map(|(_, _, v)| v)
            .collect()
    }

    /// `AddService = name, flags, section[, eventlog]` lines of `<install>.Services`.
    fn add_services(&self, install: &str) -> Vec<Vec<String>> {
        self.values(&format!("{install}.Services"), "AddService")
            .iter()
            .map(|v| fields(v))
            .collect()
    }

    /// DIRID of a CopyFiles section per `[DestinationDirs]`, falling back to DefaultDestDir.
    fn dest_dirid(&self, copyfiles: &str) -> Option<String> {
        let lookup = |key: &str| {
            self.values("DestinationDirs", key)
                .first()
                .map(|v| fields(v).remove(0))
        };
        lookup(copyfiles).or_else(|| lookup("DefaultDestDir"))
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None if s.is_empty() => Some(0),
        None => s.parse().ok(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------

fn inx_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("inf")
        .join(name)
}

fn read_bytes(name: &str) -> Vec<u8> {
    let path = inx_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn load(name: &str) -> Inf {
    let bytes = read_bytes(name);
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|_| panic!("{name} is not UTF-8 (it must be ASCII)"));
    Inf::parse(name, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "INX problems:\n  {}",
        problems.join("\n  ")
    );
}

/// Which edge an INX describes; fixes the expected values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Protocol,
    Miniport,
}

impl Edge {
    fn class(self) -> (&'static str, &'static str) {
        match self {
            Edge::Protocol => ("NetTrans", NETTRANS_CLASS_GUID),
            Edge::Miniport => ("Net", NET_CLASS_GUID),
        }
    }
    fn service(self) -> &'static str {
        match self {
            Edge::Protocol => PROTOCOL_SERVICE_NAME,
            Edge::Miniport => MINIPORT_SERVICE_NAME,
        }
    }
    fn hardware_id(self) -> &'static str {
        match self {
            Edge::Protocol => PROTOCOL_ID,
            Edge::Miniport => MINIPORT_ID,
        }
    }
    /// (UpperRange, LowerRange) as designed.
    fn ranges(self) -> (&'static str, &'static str) {
        match self {
            Edge::Protocol => ("noupper", "ndis5"),
            Edge::Miniport => ("ndis5", "nolower"),
        }
    }
    fn inx(self) -> &'static str {
        match self {
            Edge::Protocol => PROTOCOL_INX,
            Edge::Miniport => MINIPORT_INX,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Checks (each returns its problems; empty = pass)
// ---------------------------------------------------------------------------------------------------

fn check_ascii(name: &str, bytes: &[u8]) -> Vec<String> {
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

fn check_version(inf: &Inf, edge: Edge) -> Vec<String> {
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

fn check_provider(inf: &Inf) -> Vec<String> {
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

fn check_tokens(inf: &Inf) -> Vec<String> {
    inf.used_tokens()
        .into_iter()
        .filter(|(_, token)| inf.string(token).is_none())
        .map(|(line, token)| format!("{}:{line}: %{token}% is not defined in [Strings]", inf.file))
        .collect()
}

fn check_models(inf: &Inf, edge: Edge) -> Vec<String> {
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
fn check_services(inf: &Inf, edge: Edge) -> Vec<String> {
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
        let copyfiles: Vec<String> = inf
            .values(install, "CopyFiles")
            .iter()
            .flat_map(|v| fields(v))
            .collect();
        let copies: Vec<&String> = copyfiles
            .iter()
            .filter(|s| {
                inf.lines(s)
                    .any(|l| fields(&l.value)[0].eq_ignore_ascii_case(&binary))
            })
            .collect();
        match copies.as_slice() {
            [section] => {
                let dest = inf.dest_dirid(section);
                if dest.as_deref() != Some(dirid) {
                    problems.push(format!(
                        "{}: [{section}] copies {binary} to DIRID {dest:?}, expected {dirid}",
                        inf.file
                    ));
                }
            }
            _ => problems.push(format!(
                "{}: [{install}] must copy {binary} exactly once",
                inf.file
            )),
        }
        if !inf.lines("SourceDisksFiles").any(|l| {
            l.key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(&binary))
        }) {
            problems.push(format!(
                "{}: [SourceDisksFiles] does not list {binary}",
                inf.file
            ));
        }

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

fn check_ranges(inf: &Inf, edge: Edge) -> Vec<String> {
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

fn check_characteristics(inf: &Inf, edge: Edge) -> Vec<String> {
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

fn check_exclude_from_select(inf: &Inf) -> Vec<String> {
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
fn check_all(inf: &Inf, bytes: &[u8], edge: Edge) -> Vec<String> {
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
            "HAS_UI without notify object",
            "Characteristics = 0x0 ;",
            "Characteristics = 0x80 ;",
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
