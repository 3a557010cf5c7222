//! Copies of the handler tables the driver registered (read up to the declared Size only), as
//! `"system-unwind"` pointers (see [`crate::drv`]).

use chimney_im::ndis::*;

use crate::drv::{Unwinding, unwinding};

/// The callable (`"system-unwind"`) form of handler type `T`.
type U<T> = <T as Unwinding>::Target;

#[derive(Clone, Copy, Debug)]
pub struct MpHandlers {
    pub set_options: Option<U<SetOptionsHandler>>,
    pub initialize: U<MiniportInitializeHandler>,
    pub halt: U<MiniportHaltHandler>,
    pub unload: U<MiniportUnloadHandler>,
    pub pause: U<MiniportPauseHandler>,
    pub restart: U<MiniportRestartHandler>,
    pub oid_request: U<MiniportOidRequestHandler>,
    pub send: U<MiniportSendNetBufferListsHandler>,
    pub return_nbls: U<MiniportReturnNetBufferListsHandler>,
    #[allow(
        dead_code,
        reason = "validated at registration; the host issues no send cancellation yet"
    )]
    pub cancel_send: U<MiniportCancelSendHandler>,
    pub device_pnp: U<MiniportDevicePnpEventNotifyHandler>,
    #[allow(
        dead_code,
        reason = "validated at registration; the model does not shut down"
    )]
    pub shutdown: U<MiniportShutdownHandler>,
    pub cancel_oid: U<MiniportCancelOidRequestHandler>,
}

#[derive(Clone, Copy, Debug)]
pub struct PtHandlers {
    pub set_options: Option<U<SetOptionsHandler>>,
    pub bind: U<ProtocolBindAdapterHandler>,
    pub unbind: U<ProtocolUnbindAdapterHandler>,
    pub open_complete: U<ProtocolOpenAdapterCompleteHandler>,
    pub close_complete: U<ProtocolCloseAdapterCompleteHandler>,
    pub pnp: U<ProtocolNetPnpEventHandler>,
    pub oid_complete: U<ProtocolOidRequestCompleteHandler>,
    pub status: Option<U<ProtocolStatusHandler>>,
    pub receive: U<ProtocolReceiveNetBufferListsHandler>,
    pub send_complete: U<ProtocolSendNetBufferListsCompleteHandler>,
}

/// A handler the characteristics must provide: returns it, or records its name in `missing`.
fn required<T>(
    handler: Option<T>,
    name: &'static str,
    missing: &mut Vec<&'static str>,
) -> Option<T> {
    if handler.is_none() {
        missing.push(name);
    }
    handler
}

/// Reads the miniport table; returns the names of missing required handlers on failure.
pub fn mp_from(c: &MiniportDriverCharacteristics) -> Result<MpHandlers, Vec<&'static str>> {
    let mut missing = Vec::new();
    let initialize = required(c.initialize_handler_ex, "InitializeHandlerEx", &mut missing);
    let halt = required(c.halt_handler_ex, "HaltHandlerEx", &mut missing);
    let unload = required(c.unload_handler, "UnloadHandler", &mut missing);
    let pause = required(c.pause_handler, "PauseHandler", &mut missing);
    let restart = required(c.restart_handler, "RestartHandler", &mut missing);
    let oid_request = required(c.oid_request_handler, "OidRequestHandler", &mut missing);
    let send = required(
        c.send_net_buffer_lists_handler,
        "SendNetBufferListsHandler",
        &mut missing,
    );
    let return_nbls = required(
        c.return_net_buffer_lists_handler,
        "ReturnNetBufferListsHandler",
        &mut missing,
    );
    let cancel_send = required(c.cancel_send_handler, "CancelSendHandler", &mut missing);
    let device_pnp = required(
        c.device_pnp_event_notify_handler,
        "DevicePnPEventNotifyHandler",
        &mut missing,
    );
    let shutdown = required(c.shutdown_handler_ex, "ShutdownHandlerEx", &mut missing);
    let cancel_oid = required(
        c.cancel_oid_request_handler,
        "CancelOidRequestHandler",
        &mut missing,
    );
    match (
        initialize,
        halt,
        unload,
        pause,
        restart,
        oid_request,
        send,
        return_nbls,
        cancel_send,
        device_pnp,
        shutdown,
        cancel_oid,
    ) {
        (
            Some(initialize),
            Some(halt),
            Some(unload),
            Some(pause),
            Some(restart),
            Some(oid_request),
            Some(send),
            Some(return_nbls),
            Some(cancel_send),
            Some(device_pnp),
            Some(shutdown),
            Some(cancel_oid),
        ) => Ok(MpHandlers {
            set_options: unwinding(c.set_options_handler),
            initialize: initialize.unwinding(),
            halt: halt.unwinding(),
            unload: unload.unwinding(),
            pause: pause.unwinding(),
            restart: restart.unwinding(),
            oid_request: oid_request.unwinding(),
            send: send.unwinding(),
            return_nbls: return_nbls.unwinding(),
            cancel_send: cancel_send.unwinding(),
            device_pnp: device_pnp.unwinding(),
            shutdown: shutdown.unwinding(),
            cancel_oid: cancel_oid.unwinding(),
        }),
        _ => Err(missing),
    }
}

/// Reads the protocol table; returns the names of missing required handlers on failure.
pub fn pt_from(c: &ProtocolDriverCharacteristics) -> Result<PtHandlers, Vec<&'static str>> {
    let mut missing = Vec::new();
    let bind = required(
        c.bind_adapter_handler_ex,
        "BindAdapterHandlerEx",
        &mut missing,
    );
    let unbind = required(
        c.unbind_adapter_handler_ex,
        "UnbindAdapterHandlerEx",
        &mut missing,
    );
    let open_complete = required(
        c.open_adapter_complete_handler_ex,
        "OpenAdapterCompleteHandlerEx",
        &mut missing,
    );
    let close_complete = required(
        c.close_adapter_complete_handler_ex,
        "CloseAdapterCompleteHandlerEx",
        &mut missing,
    );
    let pnp = required(c.net_pnp_event_handler, "NetPnPEventHandler", &mut missing);
    let oid_complete = required(
        c.oid_request_complete_handler,
        "OidRequestCompleteHandler",
        &mut missing,
    );
    let receive = required(
        c.receive_net_buffer_lists_handler,
        "ReceiveNetBufferListsHandler",
        &mut missing,
    );
    let send_complete = required(
        c.send_net_buffer_lists_complete_handler,
        "SendNetBufferListsCompleteHandler",
        &mut missing,
    );
    match (
        bind,
        unbind,
        open_complete,
        close_complete,
        pnp,
        oid_complete,
        receive,
        send_complete,
    ) {
        (
            Some(bind),
            Some(unbind),
            Some(open_complete),
            Some(close_complete),
            Some(pnp),
            Some(oid_complete),
            Some(receive),
            Some(send_complete),
        ) => Ok(PtHandlers {
            set_options: unwinding(c.set_options_handler),
            bind: bind.unwinding(),
            unbind: unbind.unwinding(),
            open_complete: open_complete.unwinding(),
            close_complete: close_complete.unwinding(),
            pnp: pnp.unwinding(),
            oid_complete: oid_complete.unwinding(),
            status: unwinding(c.status_handler_ex),
            receive: receive.unwinding(),
            send_complete: send_complete.unwinding(),
        }),
        _ => Err(missing),
    }
}
