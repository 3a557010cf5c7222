//! Stack budget of the shipped image (`.ci/build-sys`'s target/chimney_im.sys and its link map),
//! measured from the image's own unwind data (tests/support/stack.rs):
//!
//! - the largest single frame;
//! - the deepest stack from any driver function (its frame plus its deepest direct-call chain);
//! - the stack one post→complete re-entrancy level costs: a host that re-posts from inside a
//!   chimney completion (as tcpip may) nests the driver's post path and its completion path once
//!   per level, with NDIS and the target between them. Our share of one level is the deepest
//!   path from the post path's entry plus the deepest from the completion path's entry.
//!
//! Budgets (why): a Windows x64 kernel thread has a 24 KiB stack (KERNEL_STACK_SIZE), shared by
//! the whole network stack above and below an IM driver, and a chimney completion may nest a
//! new post (tcpip re-posts from its completion) with NDIS, tcpip and the target's frames in
//! between. Measured today: one level 704 bytes (post path 400, completion path 304: either
//! can release the last reference of a terminating entry and so complete the terminate upward,
//! `finish_terminate` — a direct call since the restructure; it used to go through a function
//! pointer, which the graph does not follow, and the level then measured 336), deepest path
//! 1200 bytes, largest frame 960 bytes (DriverEntry, which builds both characteristics tables on
//! its stack — at load, at PASSIVE_LEVEL near the top of a system thread's stack, not on any
//! data path).
//! - one re-entrancy level <= 768 bytes: 10 nested levels take under a third of the stack for
//!   our share; ~9% headroom over today (shrinking io::post's frame, or taking the terminate's
//!   completion off the post path, would win it back);
//! - deepest path <= 2 KiB (a twelfth of the stack) — today's deepest is initialization;
//! - largest frame <= 1 KiB: a bigger local belongs in pool memory.
//!
//! Indirect calls (through function pointers) are not in the graph; the driver makes none on
//! these paths besides the NDIS imports, whose stack is NDIS's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[allow(
    dead_code,
    reason = "shared with tests/pe_image.rs; this test uses the PE reader only"
)]
#[path = "support/pe.rs"]
mod pe;
#[path = "support/stack.rs"]
mod stack;

use pe::{Pe, read_u32, read_u64};
use stack::{Function, call_graph, deepest, functions, map_symbols};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const LARGEST_FRAME_BUDGET: u32 = 1024;
const DEEPEST_PATH_BUDGET: u32 = 2048;
const LEVEL_BUDGET: u32 = 768;

fn image_path() -> PathBuf {
    if let Some(path) = std::env::var_os("CHIMNEY_SYS") {
        return PathBuf::from(path);
    }
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    Path::new(ROOT).join(target_dir).join("chimney_im.sys")
}

struct Measured {
    fns: Vec<Function>,
    depth: Vec<u32>,
    graph: Vec<BTreeSet<usize>>,
}

fn measure() -> Option<Measured> {
    let path = image_path();
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(_) if std::env::var("CHIMNEY_SKIP_PE").as_deref() == Ok("1") => {
            eprintln!(
                "CHIMNEY_SKIP_PE=1: {} absent, stack budget skipped",
                path.display()
            );
            return None;
        }
        Err(e) => panic!(
            "cannot read {}: {e}; run .ci/build-sys first",
            path.display()
        ),
    };
    let map_path = path.with_extension("map");
    let map = std::fs::read_to_string(&map_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", map_path.display()));
    let image = Pe::parse(data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let opt = pe::to_usize(read_u32(&image.data, 0x3C).expect("e_lfanew")) + 24;
    let image_base = read_u64(&image.data, opt + 24).expect("ImageBase");
    let names = map_symbols(&map, image_base);
    let mut fns = functions(&image, &names).expect("unwind data");
    // Functions with no .pdata entry are leaves that use only their return address.
    let text = image
        .sections
        .iter()
        .find(|s| s.name == ".text")
        .expect(".text");
    let in_pdata: BTreeSet<u32> = fns.iter().map(|f| f.begin).collect();
    let text_end = text.virtual_address + text.virtual_size;
    for (&rva, name) in &names {
        if rva >= text.virtual_address && rva < text_end && !in_pdata.contains(&rva) {
            fns.push(Function {
                begin: rva,
                end: rva,
                frame: 8,
                name: name.clone(),
            });
        }
    }
    let start = pe::to_usize(text.raw_pointer);
    let bytes = &image.data[start..start + pe::to_usize(text.raw_size.min(text.virtual_size))];
    let graph = call_graph(text.virtual_address, bytes, &fns);
    let depth = deepest(&fns, &graph).unwrap_or_else(|e| panic!("{e}"));
    Some(Measured { fns, depth, graph })
}

/// Deepest path from any of `names` or from any function that calls one directly (its handler
/// thunks). `names` lists a path's function and the handlers it may be inlined into: at least
/// one must be in the image.
fn path_cost(m: &Measured, names: &[&str]) -> (u32, String) {
    let target: Vec<usize> = (0..m.fns.len())
        .filter(|&i| names.contains(&m.fns[i].name.as_str()))
        .collect();
    assert!(
        !target.is_empty(),
        "none of {names:?} found in the image's link map"
    );
    let mut best = (0, String::new());
    for i in 0..m.fns.len() {
        let on_path = target.contains(&i) || m.graph[i].iter().any(|j| target.contains(j));
        if on_path && m.depth[i] > best.0 {
            best = (m.depth[i], m.fns[i].name.clone());
        }
    }
    best
}

/// The deepest call chain from function `i`, with each frame's size: where a path's bytes go.
fn chain(m: &Measured, mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(format!("{} ({})", m.fns[i].name, m.fns[i].frame));
        let rest = m.depth[i] - m.fns[i].frame;
        match m.graph[i].iter().find(|&&j| rest > 0 && m.depth[j] == rest) {
            Some(&j) => i = j,
            None => return out.join(" -> "),
        }
    }
}

fn index_of(m: &Measured, name: &str) -> usize {
    m.fns
        .iter()
        .position(|f| f.name == name)
        .expect("a measured function")
}

#[test]
fn driver_stack_use_is_within_budget() {
    let Some(m) = measure() else { return };
    let (largest, at) = m
        .fns
        .iter()
        .map(|f| (f.frame, f.name.as_str()))
        .max()
        .expect("functions");
    let (deep_i, _) = m
        .depth
        .iter()
        .enumerate()
        .max_by_key(|(_, d)| **d)
        .expect("functions");
    let (deepest_path, deepest_from) = (m.depth[deep_i], m.fns[deep_i].name.clone());
    let (post, post_from) = path_cost(&m, &["chimney_im::chimney::io::post"]);
    // `io::complete`, or, where the compiler inlined it, the four I/O completion handlers whose
    // body it is.
    let (complete, complete_from) = path_cost(
        &m,
        &[
            "chimney_im::chimney::io::complete",
            "chimney_im::edge::chimney::tcp_offload_send_complete",
            "chimney_im::edge::chimney::tcp_offload_receive_complete",
            "chimney_im::edge::chimney::tcp_offload_disconnect_complete",
            "chimney_im::edge::chimney::tcp_offload_forward_complete",
        ],
    );
    let level = post + complete;
    println!("functions with unwind data or a map name: {}", m.fns.len());
    println!("largest frame: {largest} bytes ({at}); budget {LARGEST_FRAME_BUDGET}");
    println!(
        "deepest path: {deepest_path} bytes (from {deepest_from}); budget {DEEPEST_PATH_BUDGET}"
    );
    println!("chimney post path: {post} bytes (from {post_from})");
    println!("chimney completion path: {complete} bytes (from {complete_from})");
    println!("one post->complete re-entrancy level: {level} bytes; budget {LEVEL_BUDGET}");
    println!("  post: {}", chain(&m, index_of(&m, &post_from)));
    println!("  completion: {}", chain(&m, index_of(&m, &complete_from)));
    assert!(
        largest <= LARGEST_FRAME_BUDGET,
        "largest frame {largest} bytes in {at}"
    );
    assert!(
        deepest_path <= DEEPEST_PATH_BUDGET,
        "deepest path {deepest_path} bytes from {deepest_from}"
    );
    assert!(
        level <= LEVEL_BUDGET,
        "one re-entrancy level costs {level} bytes"
    );
}

#[test]
fn unwind_data_is_read_consistently() {
    assert_eq!(
        stack::demangle("_ZN10chimney_im7chimney2io4post17h42b9f9881ef10213E"),
        "chimney_im::chimney::io::post"
    );
    let Some(m) = measure() else { return };
    // Every frame is a multiple of 8 and at least the return address; DriverEntry has one.
    assert!(m.fns.iter().all(|f| f.frame >= 8 && f.frame % 8 == 0));
    assert!(m.fns.iter().any(|f| f.name == "DriverEntry" && f.frame > 8));
}
