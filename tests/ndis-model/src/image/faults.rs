//! Faults inside the driver image become verifier violations and a clean test failure.
//!
//! A vectored exception handler sees every exception first. For an access violation, illegal or
//! privileged instruction, divide error or breakpoint whose address lies inside a mapped image it
//! does not let the process die: it resumes the thread at `ndis_model_fault_entry` with the fault in
//! registers. That stub pushes the faulting address as a return address, so the stack looks as
//! if the faulting instruction had called `ndis_model_fault_frame`, whose unwind data the linker emits.
//! that frame calls [`fault_raise`], which records the violation (image offset and nearest
//! symbol from the link map) and raises an `DriverFault` panic; the unwinder walks from there
//! through the image's frames (described by its registered `.pdata`) back to the model's handler
//! call (`drv::call`), which fails the test.

use std::sync::Once;

use super::win32::*;

const ACCESS_VIOLATION: u32 = 0xC000_0005;
const ILLEGAL_INSTRUCTION: u32 = 0xC000_001D;
const PRIV_INSTRUCTION: u32 = 0xC000_0096;
const INT_DIVIDE_BY_ZERO: u32 = 0xC000_0094;
const BREAKPOINT: u32 = 0x8000_0003;

/// Offsets of registers in the x64 `CONTEXT` (winnt.h).
const CTX_RAX: usize = 0x78;
const CTX_RCX: usize = 0x80;
const CTX_RDX: usize = 0x88;
const CTX_R8: usize = 0xB8;
const CTX_RIP: usize = 0xF8;

std::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl ndis_model_fault_entry",
    "ndis_model_fault_entry:",
    // RAX = the faulting address: becomes the return address of the frame below.
    "push rax",
    "ndis_model_fault_frame:",
    ".seh_proc ndis_model_fault_frame",
    "push rbp",
    ".seh_pushreg rbp",
    "mov rbp, rsp",
    ".seh_setframe rbp, 0",
    ".seh_endprologue",
    // The faulting RSP may have any alignment; RBP (the frame register) restores it on unwind.
    "and rsp, -16",
    "sub rsp, 32",
    "call {raise}",
    "int3",
    ".seh_endproc",
    raise = sym fault_raise,
);

unsafe extern "C" {
    fn ndis_model_fault_entry();
}

/// Called by the stub with the exception code, the faulting address and (access violations) the
/// address accessed. Never returns.
extern "C-unwind" fn fault_raise(code: u32, addr: usize, accessed: usize) -> ! {
    let what = match code {
        ACCESS_VIOLATION => format!("access violation (address {accessed:#x})"),
        ILLEGAL_INSTRUCTION => "illegal instruction".to_string(),
        PRIV_INSTRUCTION => "privileged instruction".to_string(),
        INT_DIVIDE_BY_ZERO => "integer divide by zero".to_string(),
        BREAKPOINT => "breakpoint".to_string(),
        _ => format!("exception {code:#010x}"),
    };
    let at = super::describe(addr).unwrap_or_else(|| format!("{addr:#x}"));
    crate::drv::driver_fault("image.fault", format!("{what} in the driver image at {at}"))
}

unsafe extern "system" fn handler(info: *mut ExceptionPointers) -> i32 {
    // SAFETY: the system passes valid exception and context records for the faulting thread.
    let (rec, ctx) = unsafe { (&*(*info).record, (*info).context) };
    let code = rec.code;
    let ours = matches!(
        code,
        ACCESS_VIOLATION | ILLEGAL_INSTRUCTION | PRIV_INSTRUCTION | INT_DIVIDE_BY_ZERO | BREAKPOINT
    );
    let addr = rec.address as usize;
    if !ours || !super::contains(addr, 1) {
        return EXCEPTION_CONTINUE_SEARCH;
    }
    let accessed = if code == ACCESS_VIOLATION && rec.number_parameters >= 2 {
        rec.information[1]
    } else {
        0
    };
    let set = |off: usize, v: u64| {
        // SAFETY: `off` is the offset of a 64-bit register field inside the x64 CONTEXT record
        // the system passed; the thread resumes with the modified context.
        unsafe { ctx.add(off).cast::<u64>().write_unaligned(v) }
    };
    set(CTX_RAX, addr as u64);
    set(CTX_RCX, u64::from(code));
    set(CTX_RDX, addr as u64);
    set(CTX_R8, accessed as u64);
    set(CTX_RIP, ndis_model_fault_entry as *const () as usize as u64);
    EXCEPTION_CONTINUE_EXECUTION
}

/// Installs the handler (once per process).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `handler` is a valid vectored handler for the life of the process.
        unsafe { AddVectoredExceptionHandler(1, handler) };
    });
}
