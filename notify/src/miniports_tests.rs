//! Unit tests of the decisions with a fake NetCfg session and a fake registry that fail the
//! n-th call on demand.

use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

use crate::guid::Guid;
use crate::miniports::{Hr, Lower, Miniports, NCF_VIRTUAL, NetCfg, Registry, classify};

const E_FAIL: Hr = 0x8000_4005_u32 as i32;
const A1: Guid = Guid(0xA1);
const A2: Guid = Guid(0xA2);
const A3: Guid = Guid(0xA3);

/// NetCfg and the registry in one fake. Installed miniports get GUIDs 0x1000, 0x1001, …
/// `fail_at = Some(n)` makes the n-th call (counted from 0 over both traits) fail.
#[derive(Default)]
struct Fake {
    installed: BTreeSet<Guid>,
    registry: BTreeMap<Guid, Guid>,
    next: u128,
    calls: usize,
    fail_at: Option<usize>,
    log: Vec<String>,
}

impl Fake {
    fn step(&mut self, what: String) -> Result<(), Hr> {
        let n = self.calls;
        self.calls += 1;
        if self.fail_at == Some(n) {
            self.log.push(format!("{what} FAILED"));
            return Err(E_FAIL);
        }
        self.log.push(what);
        Ok(())
    }
}

impl NetCfg for Fake {
    type Component = Guid;
    fn install_miniport(&mut self) -> Result<Guid, Hr> {
        self.step("install".into())?;
        let guid = Guid(0x1000 + self.next);
        self.next += 1;
        self.installed.insert(guid);
        Ok(guid)
    }
    fn instance_guid(&mut self, c: &Guid) -> Result<Guid, Hr> {
        self.step(format!("guid {:x}", c.0))?;
        Ok(*c)
    }
    fn deinstall(&mut self, c: &Guid) -> Result<(), Hr> {
        self.step(format!("deinstall {:x}", c.0))?;
        assert!(self.installed.remove(c), "de-installed twice: {c}");
        Ok(())
    }
    fn find_miniport(&mut self, m: Guid) -> Result<Option<Guid>, Hr> {
        self.step(format!("find {:x}", m.0))?;
        Ok(self.installed.contains(&m).then_some(m))
    }
}

impl Registry for Fake {
    fn write(&mut self, a: Guid, m: Guid) -> Result<(), Hr> {
        self.step(format!("write {:x}={:x}", a.0, m.0))?;
        self.registry.insert(a, m);
        Ok(())
    }
    fn delete(&mut self, a: Guid) -> Result<(), Hr> {
        self.step(format!("delete {:x}", a.0))?;
        self.registry.remove(&a);
        Ok(())
    }
}

/// One NetCfg-driven step of a scenario.
#[derive(Clone, Copy, Debug)]
enum Op {
    Install(&'static [Guid]),
    Add(Guid),
    Remove(Guid),
    Uninstall,
    Apply,
    Cancel,
}

fn run(mux: &mut Miniports, fake: &mut Fake, op: Op) -> Result<(), Hr> {
    match op {
        Op::Install(adapters) => mux.install(fake, adapters),
        Op::Add(a) => mux.add(fake, a),
        Op::Remove(a) => mux.remove(fake, a),
        Op::Uninstall => mux.uninstall(fake),
        Op::Apply => mux.apply_registry(fake),
        Op::Cancel => {
            mux.cancel();
            Ok(())
        }
    }
}

/// The consistency every step must leave: each adapter of the session's mapping has an
/// installed miniport, no installed miniport is unmapped, the registry is the committed state.
fn assert_consistent(mux: &Miniports, fake: &Fake, context: &str) {
    let mapped: BTreeSet<Guid> = mux.mapping().values().copied().collect();
    assert_eq!(mapped, fake.installed, "{context}: miniports vs mapping");
    assert_eq!(
        mux.mapping().len(),
        mapped.len(),
        "{context}: one per adapter"
    );
    assert_eq!(&fake.registry, mux.committed(), "{context}: registry");
}

fn fresh() -> (Miniports, Fake) {
    (Miniports::default(), Fake::default())
}

#[test]
fn install_with_zero_one_three_adapters() {
    for adapters in [&[][..], &[A1][..], &[A1, A2, A3][..]] {
        let (mut mux, mut fake) = fresh();
        mux.install(&mut fake, adapters).unwrap();
        assert_eq!(fake.installed.len(), adapters.len());
        assert!(fake.registry.is_empty(), "nothing written before apply");
        mux.apply_registry(&mut fake).unwrap();
        assert_eq!(
            fake.registry.keys().copied().collect::<Vec<_>>(),
            adapters.to_vec()
        );
        assert_consistent(&mux, &fake, "install");
        assert_eq!(mux.take_reconfigure(), adapters.to_vec());
    }
}

#[test]
fn add_disable_enable_remove_readd() {
    let (mut mux, mut fake) = fresh();
    mux.add(&mut fake, A1).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    let first = fake.registry[&A1];
    assert_eq!(fake.installed, BTreeSet::from([first]));

    // Disable: miniport de-installed, key deleted on apply.
    mux.remove(&mut fake, A1).unwrap();
    assert!(fake.installed.is_empty());
    assert_eq!(fake.registry.len(), 1, "still there until apply");
    mux.apply_registry(&mut fake).unwrap();
    assert!(fake.registry.is_empty());
    assert_eq!(mux.take_reconfigure(), vec![A1]);

    // Enable: a new miniport.
    mux.add(&mut fake, A1).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    let second = fake.registry[&A1];
    assert_ne!(first, second);
    assert_consistent(&mux, &fake, "enable");

    // Remove, then re-add within one session: the key ends up pointing at the newest miniport.
    mux.remove(&mut fake, A1).unwrap();
    mux.add(&mut fake, A1).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    assert_consistent(&mux, &fake, "re-add");
    assert_ne!(fake.registry[&A1], second);
}

#[test]
fn idempotent_install_and_enable() {
    let (mut mux, mut fake) = fresh();
    mux.install(&mut fake, &[A1, A2]).unwrap();
    mux.install(&mut fake, &[A1, A2]).unwrap();
    mux.add(&mut fake, A1).unwrap();
    assert_eq!(fake.installed.len(), 2);
    mux.apply_registry(&mut fake).unwrap();
    let calls = fake.calls;
    mux.add(&mut fake, A2).unwrap();
    mux.install(&mut fake, &[A1, A2]).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    assert_eq!(fake.installed.len(), 2);
    assert!(
        fake.log[calls..].iter().all(|c| c.starts_with("find")),
        "only lookups: {:?}",
        &fake.log[calls..]
    );
    assert!(mux.take_reconfigure().is_empty(), "nothing changed");
    // Removing twice, or an adapter never seen, does nothing the second time.
    mux.remove(&mut fake, A1).unwrap();
    mux.remove(&mut fake, A1).unwrap();
    mux.remove(&mut fake, A3).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    assert_consistent(&mux, &fake, "removes");
}

#[test]
fn cancel_drops_staged_changes() {
    let (mut mux, mut fake) = fresh();
    mux.install(&mut fake, &[A1]).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    let committed = fake.registry.clone();
    mux.add(&mut fake, A2).unwrap();
    mux.remove(&mut fake, A1).unwrap();
    assert!(mux.has_staged());
    mux.cancel();
    assert!(!mux.has_staged());
    assert_eq!(mux.mapping(), committed);
    mux.apply_registry(&mut fake).unwrap();
    assert_eq!(
        fake.registry, committed,
        "apply after cancel writes nothing"
    );
    assert!(mux.take_reconfigure().is_empty());
}

#[test]
fn stale_mapping_is_replaced_and_uninstall_removes_everything() {
    let entries = [(
        A1.braced(),
        vec![Guid(0xDEAD).device_name()], // miniport no longer installed
    )];
    let mut mux = Miniports::from_registry(&entries);
    let mut fake = Fake::default();
    fake.registry.insert(A1, Guid(0xDEAD));
    mux.add(&mut fake, A1).unwrap();
    mux.add(&mut fake, A2).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    assert_ne!(fake.registry[&A1], Guid(0xDEAD));
    assert_consistent(&mux, &fake, "stale");
    mux.uninstall(&mut fake).unwrap();
    mux.apply_registry(&mut fake).unwrap();
    assert!(fake.installed.is_empty() && fake.registry.is_empty());
}

#[test]
fn registry_entries_not_ours_are_ignored() {
    let entries = [
        ("{not a guid}".to_string(), vec![Guid(1).device_name()]),
        (A1.braced(), vec!["\\Device\\NotAGuid".to_string()]),
        (
            A2.braced(),
            vec![Guid(1).device_name(), Guid(2).device_name()],
        ),
        (A3.braced(), vec![Guid(3).device_name()]),
    ];
    let mux = Miniports::from_registry(&entries);
    assert_eq!(mux.mapping(), BTreeMap::from([(A3, Guid(3))]));
}

#[test]
fn own_miniports_are_refused_and_virtual_adapters_left_alone() {
    assert_eq!(classify("ChimneyIm_MP", true, 0x21, A1), Lower::OwnMiniport);
    assert_eq!(classify("pci\\ven_8086", true, 0x4, A1), Lower::Adapter(A1));
    assert_eq!(classify("ms_loop", true, NCF_VIRTUAL, A1), Lower::Other);
    assert_eq!(classify("ms_tcpip", false, 0, A1), Lower::Other);
}

/// Runs `ops` once to count the calls, then once per call with that call failing. The failing
/// operation must return the injected HRESULT and leave everything as it was before it (for
/// an uninstall: an equivalent configuration, the same adapters each with one miniport).
fn every_failure_leaves_no_trace(ops: &[Op]) {
    let (mut mux, mut fake) = fresh();
    for &op in ops {
        run(&mut mux, &mut fake, op).unwrap();
    }
    let total = fake.calls;
    for fail_at in 0..total {
        let (mut mux, mut fake) = fresh();
        fake.fail_at = Some(fail_at);
        for &op in ops {
            let before_mux = mux.clone();
            let before_installed = fake.installed.clone();
            let before_registry = fake.registry.clone();
            let before_calls = fake.calls;
            let result = run(&mut mux, &mut fake, op);
            let failed_here = (before_calls..fake.calls).contains(&fail_at);
            let context = format!("{ops:?}: call {fail_at} failed in {op:?}; {:?}", fake.log);
            if !failed_here {
                result.unwrap_or_else(|e| panic!("{context}: unexpected {e:#x}"));
                continue;
            }
            assert_eq!(result, Err(E_FAIL), "{context}");
            assert_eq!(fake.registry, before_registry, "{context}: registry");
            assert_eq!(
                mux.mapping().keys().collect::<Vec<_>>(),
                before_mux.mapping().keys().collect::<Vec<_>>(),
                "{context}: adapters"
            );
            if matches!(op, Op::Uninstall) {
                assert_eq!(fake.installed.len(), before_installed.len(), "{context}");
            } else {
                assert_eq!(fake.installed, before_installed, "{context}: miniports");
                assert_eq!(mux.mapping(), before_mux.mapping(), "{context}: mapping");
            }
            let mapped: BTreeSet<Guid> = mux.mapping().values().copied().collect();
            assert_eq!(mapped, fake.installed, "{context}: every miniport mapped");
            // NetCfg cancels the session after a failure; the next steps then start over.
            mux.cancel();
            fake.registry = mux.committed().clone();
            fake.installed = mux.committed().values().copied().collect();
            break;
        }
    }
}

#[test]
fn failures_at_each_step_leave_no_trace() {
    use Op::*;
    every_failure_leaves_no_trace(&[Install(&[A1, A2, A3]), Apply]);
    every_failure_leaves_no_trace(&[Install(&[A1, A2]), Apply, Add(A3), Remove(A1), Apply]);
    every_failure_leaves_no_trace(&[Install(&[A1, A2, A3]), Apply, Uninstall, Apply]);
    every_failure_leaves_no_trace(&[Add(A1), Apply, Remove(A1), Add(A1), Apply, Cancel]);
}
