//! The per-processor rundown (`chimney_im::kernel::PerCpuRundown`) on the NDIS model: slots from
//! `KeQueryActiveProcessorCountEx`, the slot from `KeGetCurrentProcessorNumberEx` of the model
//! thread, pool memory through `NdisAllocateMemoryWithTagPriority`, waits on an NDIS event.
//! Work forwarded on CPU 0 is completed on CPU 1, as RSS and a completion DPC elsewhere do.

// Host builds only: the kernel layer's internals are reachable there (`host_probe`); the
// Wine tier tests the image through the model tests instead.
#![cfg(not(windows))]

use std::sync::{Arc, Barrier};

use chimney_im::host_probe::GLOBALS;
use chimney_im::host_probe::Slot;
use chimney_im::host_probe::{Drain, PerCpuDrainable, PerCpuRundown, PoolArray};
use ndis_model::testkit::one_adapter;
use ndis_model::{AdapterPolicy, Model, ModelConfig, current_processor, set_current_processor};

fn model(processors: u32) -> Model {
    Model::load(ModelConfig {
        processors,
        ..ModelConfig::default()
    })
}

#[test]
fn one_slot_per_active_processor_rounded_up_to_a_power_of_two_in_pool_memory() {
    let m = model(6);
    let rundown = PerCpuRundown::try_new(GLOBALS.miniport_driver()).expect("pool allocation");
    assert_eq!(rundown.slot_count(), 8);
    drop(rundown);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    let m = model(4);
    let rundown = PerCpuRundown::try_new(GLOBALS.miniport_driver()).expect("pool allocation");
    assert_eq!(rundown.slot_count(), 4);
    assert!(!rundown.is_open(), "a new rundown is closed");
    drop(rundown);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}

#[test]
fn pool_array_aligns_slots_to_their_line_pair() {
    let m = model(2);
    for len in [1, 3, 64] {
        let slots = PoolArray::try_new_with(GLOBALS.miniport_driver(), len, |_| Slot::new_closed())
            .expect("pool allocation");
        assert_eq!(slots.len(), len);
        for s in slots.iter() {
            assert_eq!(std::ptr::from_ref(s) as usize % 128, 0);
        }
    }
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}

#[test]
fn forward_on_cpu0_complete_on_cpu1_drain_reported_by_that_release() {
    let m = model(2);
    let rundown = Arc::new(PerCpuRundown::try_new(GLOBALS.miniport_driver()).unwrap());
    assert!(rundown.reopen());
    let forward = {
        let r = rundown.clone();
        std::thread::spawn(move || {
            set_current_processor(Some(0));
            assert_eq!(current_processor(), 0);
            assert!(r.try_acquire(3));
        })
    };
    forward.join().unwrap();
    assert_eq!(rundown.in_flight(), 3);
    assert_eq!(rundown.close(), Drain::Pending);
    let complete = {
        let r = rundown.clone();
        std::thread::spawn(move || {
            set_current_processor(Some(1));
            assert!(!r.try_acquire(1), "closed on CPU 1 too");
            let first = r.release(2);
            let last = r.release(1);
            (first, last)
        })
    };
    assert_eq!(complete.join().unwrap(), (Drain::Pending, Drain::Drained));
    assert_eq!(rundown.in_flight(), 0);
    assert!(rundown.reopen());
    drop(rundown);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}

#[test]
fn drain_waits_on_the_event_set_by_the_release_on_another_cpu() {
    let m = model(2);
    let d = Arc::new(PerCpuDrainable::try_new(GLOBALS.miniport_driver()).unwrap());
    d.init();
    assert!(!d.is_open());
    assert!(d.reopen());
    assert!(d.is_open());
    set_current_processor(Some(0));
    assert!(d.try_acquire(1));
    assert_eq!(d.in_flight(), 1);
    let both = Arc::new(Barrier::new(2));
    let completer = {
        let (d, both) = (d.clone(), both.clone());
        std::thread::spawn(move || {
            set_current_processor(Some(1));
            both.wait();
            // Give the drain time to close and start waiting: the release must wake it.
            std::thread::sleep(std::time::Duration::from_millis(50));
            d.release(1);
        })
    };
    both.wait();
    d.drain();
    assert_eq!(d.in_flight(), 0);
    assert!(!d.is_open());
    assert!(!d.try_acquire(1));
    completer.join().unwrap();
    set_current_processor(None);
    assert!(
        m.report().counters.waits >= 1,
        "the drain waited on the event"
    );
    drop(d);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}

#[test]
fn threads_default_to_a_processor_of_their_own() {
    let m = one_adapter(AdapterPolicy::default(), 3);
    let seen: Vec<u32> = (0..4)
        .map(|_| std::thread::spawn(current_processor).join().unwrap())
        .collect();
    assert!(seen.iter().all(|&p| p < 2), "{seen:?}");
    let here = current_processor();
    assert_eq!(here, current_processor(), "stable per thread");
    set_current_processor(Some(1));
    assert_eq!(current_processor(), 1);
    set_current_processor(None);
    assert_eq!(current_processor(), here);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}

#[test]
fn processor_exports_answer_for_the_model_thread_and_check_their_arguments() {
    use chimney_im::ndis::imports::{KeGetCurrentProcessorNumberEx, KeQueryActiveProcessorCountEx};
    use chimney_im::ndis::{ALL_PROCESSOR_GROUPS, ProcessorNumber};
    let mut m = model(3);
    set_current_processor(Some(2));
    let mut number = ProcessorNumber {
        group: 7,
        number: 7,
        reserved: 7,
    };
    // SAFETY: a valid, writable PROCESSOR_NUMBER.
    let index = unsafe { KeGetCurrentProcessorNumberEx(&raw mut number) };
    assert_eq!(index, 2);
    assert_eq!(
        number,
        ProcessorNumber {
            group: 0,
            number: 2,
            reserved: 0
        }
    );
    // SAFETY: the out-parameter is optional.
    let index = unsafe { KeGetCurrentProcessorNumberEx(std::ptr::null_mut()) };
    assert_eq!(index, 2);
    set_current_processor(None);
    // SAFETY: a plain value argument.
    let all = unsafe { KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS) };
    assert_eq!(all, 3);
    // SAFETY: a plain value argument.
    assert_eq!(unsafe { KeQueryActiveProcessorCountEx(0) }, 3);
    assert!(m.violations().is_empty());
    // SAFETY: a plain value argument (group 1 does not exist in the model).
    assert_eq!(unsafe { KeQueryActiveProcessorCountEx(1) }, 0);
    let v = m.take_violations();
    assert!(
        v.iter().any(|v| v.check == "processor.group_exists"),
        "{v:?}"
    );
    let r = m.unload();
    assert_eq!(r.violations.len(), 1, "only the expected one: {r}");
}

#[test]
fn each_processor_counts_on_its_own_slot() {
    let m = model(4);
    let rundown = PerCpuRundown::try_new(GLOBALS.miniport_driver()).expect("pool allocation");
    assert!(rundown.reopen());
    for (cpu, n) in [(0, 1), (2, 2), (3, 3)] {
        set_current_processor(Some(cpu));
        assert!(rundown.try_acquire(n));
    }
    assert_eq!(rundown.slot_counts(), [1, 0, 2, 3]);
    set_current_processor(Some(1));
    assert_eq!(rundown.release(6), Drain::Pending);
    assert_eq!(rundown.slot_counts(), [1, -6, 2, 3]);
    assert_eq!(rundown.in_flight(), 0);
    set_current_processor(None);
    drop(rundown);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}
