//! Copies of the handler tables the driver registered (read up to the declared Size only).

use chimney_im::ndis::*;

#[derive(Clone, Copy, Debug)]
pub struct MpHandlers {
    pub set_options: Option<SetOptionsHandler>,
    pub initialize: MiniportInitializeHandler,
    pub halt: MiniportHaltHandler,
    pub unload: MiniportUnloadHandler,
    pub pause: MiniportPauseHandler,
    pub restart: MiniportRestartHandler,
    pub oid_request: MiniportOidRequestHandler,
    pub send: MiniportSendNetBufferListsHandler,
    pub return_nbls: MiniportReturnNetBufferListsHandler,
    #[allow(
        dead_code,
        reason = "validated at registration; the host issues no send cancellation yet"
    )]
    pub cancel_send: MiniportCancelSendHandler,
    pub device_pnp: MiniportDevicePnpEventNotifyHandler,
    #[allow(
        dead_code,
        reason = "validated at registration; the model does not shut down"
    )]
    pub shutdown: MiniportShutdownHandler,
    pub cancel_oid: MiniportCancelOidRequestHandler,
}

#[derive(Clone, Copy, Debug)]
pub struct PtHandlers {
    pub set_options: Option<SetOptionsHandler>,
    pub bind: ProtocolBindAdapterHandler,
    pub unbind: ProtocolUnbindAdapterHandler,
    pub open_complete: ProtocolOpenAdapterCompleteHandler,
    pub close_complete: ProtocolCloseAdapterCompleteHandler,
    pub pnp: ProtocolNetPnpEventHandler,
    pub oid_complete: ProtocolOidRequestCompleteHandler,
    pub status: Option<ProtocolStatusHandler>,
    pub receive: ProtocolReceiveNetBufferListsHandler,
    pub send_complete: ProtocolSendNetBufferListsCompleteHandler,
}

/// Reads the miniport table; returns the names of missing required handlers on failure.
pub fn mp_from(c: &MiniportDriverCharacteristics) -> Result<MpHandlers, Vec<&'static str>> {
    let mut missing = Vec::new();
    macro_rules! req {
        ($f:ident, $n:literal) => {
            match c.$f {
                Some(h) => Some(h),
                None => {
                    missing.push($n);
                    None
                }
            }
        };
    }
    let initialize = req!(initialize_handler_ex, "InitializeHandlerEx");
    let halt = req!(halt_handler_ex, "HaltHandlerEx");
    let unload = req!(unload_handler, "UnloadHandler");
    let pause = req!(pause_handler, "PauseHandler");
    let restart = req!(restart_handler, "RestartHandler");
    let oid_request = req!(oid_request_handler, "OidRequestHandler");
    let send = req!(send_net_buffer_lists_handler, "SendNetBufferListsHandler");
    let return_nbls = req!(
        return_net_buffer_lists_handler,
        "ReturnNetBufferListsHandler"
    );
    let cancel_send = req!(cancel_send_handler, "CancelSendHandler");
    let device_pnp = req!(
        device_pnp_event_notify_handler,
        "DevicePnPEventNotifyHandler"
    );
    let shutdown = req!(shutdown_handler_ex, "ShutdownHandlerEx");
    let cancel_oid = req!(cancel_oid_request_handler, "CancelOidRequestHandler");
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
            set_options: c.set_options_handler,
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
        }),
        _ => Err(missing),
    }
}

/// Reads the protocol table; returns the names of missing required handlers on failure.
pub fn pt_from(c: &ProtocolDriverCharacteristics) -> Result<PtHandlers, Vec<&'static str>> {
    let mut missing = Vec::new();
    macro_rules! req {
        ($f:ident, $n:literal) => {
            match c.$f {
                Some(h) => Some(h),
                None => {
                    missing.push($n);
                    None
                }
            }
        };
    }
    let bind = req!(bind_adapter_handler_ex, "BindAdapterHandlerEx");
    let unbind = req!(unbind_adapter_handler_ex, "UnbindAdapterHandlerEx");
    let open_complete = req!(
        open_adapter_complete_handler_ex,
        "OpenAdapterCompleteHandlerEx"
    );
    let close_complete = req!(
        close_adapter_complete_handler_ex,
        "CloseAdapterCompleteHandlerEx"
    );
    let pnp = req!(net_pnp_event_handler, "NetPnPEventHandler");
    let oid_complete = req!(oid_request_complete_handler, "OidRequestCompleteHandler");
    let receive = req!(
        receive_net_buffer_lists_handler,
        "ReceiveNetBufferListsHandler"
    );
    let send_complete = req!(
        send_net_buffer_lists_complete_handler,
        "SendNetBufferListsCompleteHandler"
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
            set_options: c.set_options_handler,
            bind,
            unbind,
            open_complete,
            close_complete,
            pnp,
            oid_complete,
            status: c.status_handler_ex,
            receive,
            send_complete,
        }),
        _ => Err(missing),
    }
}
