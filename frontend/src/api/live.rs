//! The live socket of a job: JSON status/progress messages and binary mesh frames.

use meshcast_shared::LiveMessage;
use meshcast_shared::frame::{self, MeshFrame};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What the socket delivers.
#[derive(Debug)]
pub enum LiveEvent {
    /// A JSON message.
    Message(LiveMessage),
    /// A decoded mesh frame and how long decoding took (ms).
    Frame(MeshFrame, f64),
    /// The socket closed; the page may reconnect.
    Closed,
}

/// An open socket; dropping it closes the socket and its handlers.
pub struct LiveSocket {
    socket: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl LiveSocket {
    /// Connects to `/api/jobs/{id}/live` on this page's host.
    pub fn connect(id: &str, on_event: impl Fn(LiveEvent) + 'static) -> Result<Self, String> {
        let location = web_sys::window().ok_or("no window")?.location();
        let scheme = if location.protocol().unwrap_or_default() == "https:" { "wss" } else { "ws" };
        let host = location.host().map_err(|_| "no host")?;
        let socket = WebSocket::new(&format!("{scheme}://{host}/api/jobs/{id}/live"))
            .map_err(|e| format!("cannot open the live connection: {e:?}"))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let on_event = std::rc::Rc::new(on_event);
        let handler = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            if let Some(text) = data.as_string() {
                if let Ok(message) = serde_json::from_str::<LiveMessage>(&text) {
                    handler(LiveEvent::Message(message));
                }
            } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                let started = now_ms();
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                match frame::decode(&bytes) {
                    Ok(frame) => handler(LiveEvent::Frame(frame, now_ms() - started)),
                    Err(e) => web_sys::console::warn_1(&format!("bad mesh frame: {e}").into()),
                }
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_close = Closure::<dyn FnMut()>::new(move || on_event(LiveEvent::Closed));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self { socket, _on_message: on_message, _on_close: on_close })
    }
}

impl Drop for LiveSocket {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}
