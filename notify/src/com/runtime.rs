//! What `no_std` needs in a DLL without a C runtime: the allocator (the process heap), the panic
//! handler, and the debug log (`OutputDebugStringW`, visible in a debugger or DebugView).

use alloc::string::String;
use core::alloc::{GlobalAlloc, Layout};
use core::fmt::Write as _;

use super::sys;

/// `MEMORY_ALLOCATION_ALIGNMENT` on x64: what `HeapAlloc` guarantees.
const HEAP_ALIGN: usize = 16;

struct ProcessHeap;

// SAFETY: HeapAlloc/HeapReAlloc/HeapFree on the process heap are thread-safe (the heap is
// serialized) and return blocks aligned to HEAP_ALIGN; larger alignments are refused (null).
unsafe impl GlobalAlloc for ProcessHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > HEAP_ALIGN {
            return core::ptr::null_mut();
        }
        // SAFETY: GetProcessHeap has no preconditions.
        let heap = unsafe { sys::GetProcessHeap() };
        // SAFETY: the process heap handle is valid for the life of the process.
        unsafe { sys::HeapAlloc(heap, 0, layout.size()) }.cast()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: GetProcessHeap has no preconditions.
        let heap = unsafe { sys::GetProcessHeap() };
        // SAFETY: ptr came from HeapAlloc/HeapReAlloc on this heap (GlobalAlloc contract).
        unsafe { sys::HeapFree(heap, 0, ptr.cast()) };
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() > HEAP_ALIGN {
            return core::ptr::null_mut();
        }
        // SAFETY: GetProcessHeap has no preconditions.
        let heap = unsafe { sys::GetProcessHeap() };
        // SAFETY: ptr came from this heap (GlobalAlloc contract); HeapReAlloc keeps the data.
        unsafe { sys::HeapReAlloc(heap, 0, ptr.cast(), new_size) }.cast()
    }
}

#[global_allocator]
static ALLOCATOR: ProcessHeap = ProcessHeap;

/// Writes one line to the debugger: `chimney_im_notify: <message>`.
pub fn write_log(args: core::fmt::Arguments<'_>) {
    let mut text = String::from("chimney_im_notify: ");
    let _ = text.write_fmt(args);
    text.push('\n');
    let wide = sys::wide(&text);
    // SAFETY: `wide` is NUL-terminated and outlives the call.
    unsafe { sys::OutputDebugStringW(wide.as_ptr()) };
}

macro_rules! log {
    ($($arg:tt)*) => { $crate::com::runtime::write_log(format_args!($($arg)*)) };
}
pub(crate) use log;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    write_log(format_args!("panic: {info}"));
    // No unwinding (panic = "abort"): stop the process at the faulting point, as abort does.
    // SAFETY: ud2 raises an illegal-instruction exception; nothing follows it.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}

// The prebuilt `core` and `alloc` are compiled with unwinding, so their unwind tables name the
// MSVC C++ personality routine `__CxxFrameHandler3`, which the C runtime would supply. With
// `panic = "abort"` no Rust unwind ever starts; should a foreign SEH exception pass through these
// frames, the routine returns 1 (ExceptionContinueSearch) so that the search goes on past them,
// as it would through frames without handlers. Defined in assembly so that the symbol is not
// exported: a `#[no_mangle]` Rust function would be (the DLL exports exactly the COM entry points).
core::arch::global_asm!(
    ".globl __CxxFrameHandler3",
    "__CxxFrameHandler3:",
    "mov eax, 1",
    "ret",
);

// The memory intrinsics LLVM emits calls to (`compiler_builtins` does not define them for the
// MSVC target, and this DLL links no C runtime). Byte-wise string instructions: the DLL copies
// a few hundred bytes per NetCfg call, so speed does not matter, and assembly cannot be turned
// back into a call to itself. Win64 ABI: arguments in rcx, rdx, r8; rdi and rsi are
// callee-saved, kept in the volatile r9/r10 (these are leaf functions: no stack use, no calls).
// Not exported (assembly symbols are not in the DLL's export list), not imported.
core::arch::global_asm!(
    // void *memcpy(void *dest, const void *src, size_t n) and memmove (overlap-safe)
    ".globl memcpy",
    ".globl memmove",
    "memcpy:",
    "memmove:",
    "mov rax, rcx",
    "mov r9, rdi",
    "mov r10, rsi",
    "mov rdi, rcx",
    "mov rsi, rdx",
    "mov rcx, r8",
    "cmp rdi, rsi",
    "jbe 2f",
    "lea r11, [rsi + rcx]",
    "cmp rdi, r11",
    "jae 2f",
    // dest overlaps the end of src: copy backwards
    "lea rsi, [rsi + rcx - 1]",
    "lea rdi, [rdi + rcx - 1]",
    "std",
    "rep movsb",
    "cld",
    "jmp 3f",
    "2:",
    "rep movsb",
    "3:",
    "mov rdi, r9",
    "mov rsi, r10",
    "ret",
    // void *memset(void *dest, int c, size_t n)
    ".globl memset",
    "memset:",
    "mov r9, rdi",
    "mov r10, rcx",
    "mov rdi, rcx",
    "movzx eax, dl",
    "mov rcx, r8",
    "rep stosb",
    "mov rdi, r9",
    "mov rax, r10",
    "ret",
    // int memcmp(const void *a, const void *b, size_t n)
    ".globl memcmp",
    "memcmp:",
    "xor eax, eax",
    "test r8, r8",
    "jz 5f",
    "4:",
    "movzx eax, byte ptr [rcx]",
    "movzx r9d, byte ptr [rdx]",
    "sub eax, r9d",
    "jnz 5f",
    "inc rcx",
    "inc rdx",
    "dec r8",
    "jnz 4b",
    "5:",
    "ret",
);
