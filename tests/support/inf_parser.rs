//! Helpers of tests/inf_consistency.rs: a small INF parser (sections, `key = value` lines,
//! comma-separated fields, `%token%` strings, models).

#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// 1-based line number in the file, for messages.
    pub(crate) number: usize,
    /// The text left of `=`, trimmed; `None` for bare lines.
    pub(crate) key: Option<String>,
    /// The text right of `=` (or the whole line), comment removed, trimmed.
    pub(crate) value: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) lines: Vec<Line>,
}

#[derive(Debug, Clone)]
pub(crate) struct Inf {
    pub(crate) file: String,
    pub(crate) sections: Vec<Section>,
}

/// Removes a `;` comment that is not inside double quotes.
pub(crate) fn strip_comment(line: &str) -> &str {
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
pub(crate) fn fields(value: &str) -> Vec<String> {
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
    pub(crate) fn parse(file: &str, text: &str) -> Result<Inf, String> {
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
    pub(crate) fn sections<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections
            .iter()
            .filter(move |s| s.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn has_section(&self, name: &str) -> bool {
        self.sections(name).next().is_some()
    }

    pub(crate) fn lines<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a Line> + 'a {
        self.sections(section).flat_map(|s| s.lines.iter())
    }

    /// Values of `key = value` lines in a section.
    pub(crate) fn values(&self, section: &str, key: &str) -> Vec<String> {
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
    pub(crate) fn value(&self, section: &str, key: &str) -> Result<String, String> {
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
    pub(crate) fn string(&self, token: &str) -> Option<String> {
        self.lines("Strings")
            .find(|l| {
                l.key
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(token))
            })
            .map(|l| fields(&l.value).remove(0))
    }

    /// Replaces `%token%` by its `[Strings]` value; `%%` and DIRIDs such as `%13%` stay as they are.
    pub(crate) fn expand(&self, s: &str) -> String {
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
    pub(crate) fn used_tokens(&self) -> Vec<(usize, String)> {
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
    pub(crate) fn hkr_values(&self, section: &str) -> Vec<(String, String, String)> {
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
pub(crate) struct Model {
    pub(crate) models_section: String,
    pub(crate) install: String,
    pub(crate) ids: Vec<String>,
}

impl Inf {
    /// Every models section named in `[Manufacturer]`, with its decoration.
    pub(crate) fn models_sections(&self) -> Vec<(String, String)> {
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

    pub(crate) fn models(&self) -> Vec<Model> {
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
    pub(crate) fn addreg_sections(&self, install: &str) -> Vec<String> {
        self.values(install, "AddReg")
            .iter()
            .flat_map(|v| fields(v))
            .collect()
    }

    /// The `Ndi` values of an install section: (subkey, name) -> value.
    pub(crate) fn ndi(&self, install: &str, subkey: &str, name: &str) -> Vec<String> {
        self.addreg_sections(install)
            .iter()
            .flat_map(|s| self.hkr_values(s))
            .filter(|(k, n, _)| k.eq_ignore_ascii_case(subkey) && n.eq_ignore_ascii_case(name))
            .map(|(_, _, v)| v)
            .collect()
    }

    /// `AddService = name, flags, section[, eventlog]` lines of `<install>.Services`.
    pub(crate) fn add_services(&self, install: &str) -> Vec<Vec<String>> {
        self.values(&format!("{install}.Services"), "AddService")
            .iter()
            .map(|v| fields(v))
            .collect()
    }

    /// DIRID of a CopyFiles section per `[DestinationDirs]`, falling back to DefaultDestDir.
    pub(crate) fn dest_dirid(&self, copyfiles: &str) -> Option<String> {
        let lookup = |key: &str| {
            self.values("DestinationDirs", key)
                .first()
                .map(|v| fields(v).remove(0))
        };
        lookup(copyfiles).or_else(|| lookup("DefaultDestDir"))
    }
}

pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None if s.is_empty() => Some(0),
        None => s.parse().ok(),
    }
}
