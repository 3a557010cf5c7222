//! The lab package's install/uninstall scripts (`packaging/lab/*.cmd`) against the INX files and
//! the packaging tool. Nothing on Linux runs the scripts, so this is the guard against a renamed
//! ID, service or file breaking the install on the lab machine: every name a script uses comes from
//! one `set "NAME=value"` line, and each of those values must be what the INFs (or `cargo xtask
//! package`) really use. Needs no package: it reads the sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[allow(
    dead_code,
    reason = "shared with tests/inf_consistency.rs, which uses all of it"
)]
#[path = "support/inf_parser.rs"]
mod inf_parser;
use inf_parser::{Inf, fields};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SCRIPTS: [&str; 2] = ["install.cmd", "uninstall.cmd"];

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn inx(stem: &str) -> Inf {
    let name = format!("inf/{stem}.inx");
    Inf::parse(&name, &read(&name)).unwrap_or_else(|e| panic!("{e}"))
}

/// `set "NAME=value"` lines of a batch file (the only way the scripts define names).
fn set_lines(script: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in script.lines() {
        let Some(rest) = line.trim().strip_prefix("set \"") else {
            continue;
        };
        let Some((name, value)) = rest.trim_end_matches('"').split_once('=') else {
            continue;
        };
        vars.insert(name.to_string(), value.to_string());
    }
    vars
}

/// `%NAME%` references, scanned left to right as cmd.exe expands them: `%%` (a loop variable such
/// as `%%F` or an escaped percent sign) and `%~dp0` / `%1` (arguments) are not variables.
fn references(script: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for line in script
        .lines()
        .filter(|l| !l.trim_start().starts_with("rem"))
    {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '%' {
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('%') | Some('~') => i += 2,
                Some(c) if c.is_ascii_digit() => i += 2,
                Some(_) => match chars[i + 1..].iter().position(|&c| c == '%') {
                    Some(len) => {
                        let name: String = chars[i + 1..i + 1 + len].iter().collect();
                        if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                            refs.insert(name);
                        }
                        i += len + 2;
                    }
                    None => break,
                },
                None => break,
            }
        }
    }
    refs
}

/// Model IDs, AddService names, copied files and CopyInf targets of an INX.
struct InfNames {
    ids: BTreeSet<String>,
    services: BTreeSet<String>,
    copied: BTreeSet<String>,
    copy_inf: BTreeSet<String>,
    component_dll: BTreeSet<String>,
}

fn names(inf: &Inf) -> InfNames {
    let mut n = InfNames {
        ids: BTreeSet::new(),
        services: BTreeSet::new(),
        copied: BTreeSet::new(),
        copy_inf: BTreeSet::new(),
        component_dll: BTreeSet::new(),
    };
    for model in inf.models() {
        n.ids
            .extend(model.ids.iter().map(|s| s.to_ascii_lowercase()));
        for add in inf.add_services(&model.install) {
            n.services.insert(add[0].clone());
        }
        for section in inf.values(&model.install, "CopyFiles") {
            for section in fields(&section) {
                for line in inf.lines(&section) {
                    n.copied.insert(fields(&line.value)[0].to_ascii_lowercase());
                }
            }
        }
        n.copy_inf.extend(
            inf.values(&model.install, "CopyInf")
                .iter()
                .map(|v| v.to_ascii_lowercase()),
        );
        n.component_dll.extend(
            inf.ndi(&model.install, "Ndi", "ComponentDll")
                .iter()
                .map(|v| v.to_ascii_lowercase()),
        );
    }
    n
}

/// `pub const NAME: &str = "value";` of the packaging tool.
fn xtask_const(name: &str) -> String {
    let source = read("xtask/src/main.rs");
    let prefix = format!("pub const {name}: &str = \"");
    source
        .lines()
        .find_map(|l| l.trim().strip_prefix(&prefix)?.split_once('"'))
        .map(|(v, _)| v.to_string())
        .unwrap_or_else(|| panic!("xtask/src/main.rs has no {name}"))
}

/// Problems with one script's names.
fn check_script(name: &str, text: &str) -> Vec<String> {
    let protocol = names(&inx("chimney_im"));
    let miniport = names(&inx("chimney_im_mp"));
    let vars = set_lines(text);
    let mut problems = Vec::new();
    let mut expect = |var: &str, ok: &dyn Fn(&str) -> bool, what: &str| match vars.get(var) {
        Some(v) if ok(v) => {}
        Some(v) => problems.push(format!("{name}: {var}={v}, but {what}")),
        None => {}
    };
    expect(
        "PROTOCOL_ID",
        &|v| protocol.ids == BTreeSet::from([v.to_ascii_lowercase()]),
        &format!("chimney_im.inx's models list {:?}", protocol.ids),
    );
    expect(
        "MINIPORT_ID",
        &|v| miniport.ids == BTreeSet::from([v.to_ascii_lowercase()]),
        &format!("chimney_im_mp.inx's models list {:?}", miniport.ids),
    );
    expect(
        "PROTOCOL_SERVICE",
        &|v| protocol.services == BTreeSet::from([v.to_string()]),
        &format!("chimney_im.inx adds services {:?}", protocol.services),
    );
    expect(
        "MINIPORT_SERVICE",
        &|v| miniport.services == BTreeSet::from([v.to_string()]),
        &format!("chimney_im_mp.inx adds services {:?}", miniport.services),
    );
    expect(
        "PROTOCOL_INF",
        &|v| v == "chimney_im.inf",
        "the packaging tool writes chimney_im.inf",
    );
    expect(
        "MINIPORT_INF",
        &|v| {
            v == "chimney_im_mp.inf"
                && protocol.copy_inf == BTreeSet::from([v.to_ascii_lowercase()])
        },
        &format!(
            "the protocol INF's CopyInf is {:?} (and the tool writes chimney_im_mp.inf)",
            protocol.copy_inf
        ),
    );
    expect(
        "DRIVER_SYS",
        &|v| {
            v == xtask_const("SYS")
                && protocol.copied.contains(&v.to_ascii_lowercase())
                && miniport.copied.contains(&v.to_ascii_lowercase())
        },
        "both INFs must copy it and the tool must package it",
    );
    expect(
        "NOTIFY_DLL",
        &|v| {
            let v = v.to_ascii_lowercase();
            // Until the INX registers the notify object these sets are empty; once it does, the
            // DLL it names and copies must be this one.
            v == xtask_const("NOTIFY_DLL")
                && protocol.component_dll.iter().all(|d| *d == v)
                && protocol
                    .copied
                    .iter()
                    .filter(|f| f.ends_with(".dll"))
                    .all(|d| *d == v)
        },
        &format!(
            "the tool packages {} and the protocol INX names ComponentDll {:?}, copies {:?}",
            xtask_const("NOTIFY_DLL"),
            protocol.component_dll,
            protocol.copied
        ),
    );
    expect(
        "CERT",
        &|v| v == xtask_const("CERT_CER"),
        "the tool writes that certificate",
    );
    expect(
        "THUMBPRINT_FILE",
        &|v| v == xtask_const("CERT_THUMBPRINT"),
        "the tool writes that thumbprint file",
    );

    // Every variable the script reads is one it sets, or one Windows / cmd.exe sets.
    const SYSTEM: [&str; 4] = ["windir", "ProgramData", "ALLUSERSPROFILE", "errorlevel"];
    for var in references(text) {
        if !vars.contains_key(&var) && !SYSTEM.iter().any(|s| s.eq_ignore_ascii_case(&var)) {
            let defined_by_set_p = text.contains(&format!("set /p {var}="));
            if !defined_by_set_p {
                problems.push(format!("{name}: %{var}% is never set"));
            }
        }
    }
    // Names are spelled once, on their set line; everything else goes through the variable.
    for (var, value) in &vars {
        if value.len() < 6
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            continue;
        }
        let lower = value.to_ascii_lowercase();
        for (n, line) in text.lines().enumerate() {
            let l = line.trim_start().to_ascii_lowercase();
            if l.starts_with("rem")
                || l.starts_with(&format!("set \"{}=", var.to_ascii_lowercase()))
            {
                continue;
            }
            if l.contains(&lower) {
                problems.push(format!(
                    "{name}:{}: spells {value} literally; use %{var}%",
                    n + 1
                ));
            }
        }
    }
    problems
}

#[test]
fn scripts_use_the_inf_names() {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for script in SCRIPTS {
        let text = read(&format!("packaging/lab/{script}"));
        problems.extend(check_script(script, &text));
        for (var, value) in set_lines(&text) {
            if let Some((other, previous)) = seen.get(&var)
                && previous != &value
            {
                problems.push(format!(
                    "{var}: {other} says {previous}, {script} says {value}"
                ));
            }
            seen.insert(var, (script.to_string(), value));
        }
    }
    for required in [
        "PROTOCOL_ID",
        "MINIPORT_ID",
        "PROTOCOL_SERVICE",
        "MINIPORT_SERVICE",
        "DRIVER_SYS",
        "NOTIFY_DLL",
    ] {
        if !seen.contains_key(required) {
            problems.push(format!("no script sets {required}"));
        }
    }
    assert!(problems.is_empty(), "\n  - {}", problems.join("\n  - "));
}

#[test]
fn install_script_does_each_step() {
    let text = read("packaging/lab/install.cmd").to_ascii_lowercase();
    for step in [
        "bcdedit /enum",
        "certutil -f -addstore root",
        "certutil -f -addstore trustedpublisher",
        "netcfg -v -l \"%here%%protocol_inf%\" -c p -i %protocol_id%",
        "netsh int tcp set global chimney=enabled",
        "netsh int tcp show global",
        "netstat -t",
    ] {
        assert!(text.contains(step), "install.cmd lacks `{step}`");
    }
    let text = read("packaging/lab/uninstall.cmd").to_ascii_lowercase();
    for step in [
        "netsh int tcp set global chimney=disabled",
        "netcfg -v -u %protocol_id%",
        "pnputil -d",
        "certutil -delstore trustedpublisher",
        "certutil -delstore root",
    ] {
        assert!(text.contains(step), "uninstall.cmd lacks `{step}`");
    }
}

/// The checks reject a script whose names drifted from the INFs.
#[test]
fn checks_catch_a_wrong_name() {
    let good = read("packaging/lab/install.cmd");
    assert!(check_script("install.cmd", &good).is_empty());
    for (from, to) in [
        ("PROTOCOL_ID=chimneyim_p", "PROTOCOL_ID=chimneyim_x"),
        (
            "MINIPORT_SERVICE=ChimneyImMp",
            "MINIPORT_SERVICE=ChimneyImM",
        ),
        ("DRIVER_SYS=chimney_im.sys", "DRIVER_SYS=chimney.sys"),
        ("CERT=chimney-im-test.cer", "CERT=test.cer"),
        ("-i %PROTOCOL_ID%", "-i chimneyim_p"),
        ("\"%HERE%%CERT%\"", "\"%HERE%%CERTIFICATE%\""),
    ] {
        assert!(good.contains(from), "fixture drifted: {from}");
        let bad = good.replacen(from, to, 1);
        assert!(
            !check_script("install.cmd", &bad).is_empty(),
            "replacing {from} by {to} went unnoticed"
        );
    }
}
