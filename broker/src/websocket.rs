//! MQTT over WebSocket (SPEC §9: path `/mqtt`, subprotocol `mqtt`): the server handshake on
//! a stream that is already TLS, and [`WsTransport`], which turns the WebSocket back into a
//! byte stream so [`crate::session`] runs on it unchanged.
//!
//! MQTT-over-WebSocket carries MQTT bytes in binary messages, with no alignment between
//! packets and messages: one packet may span several messages and one message may hold
//! several packets. Reading therefore hands out message payloads as a plain byte stream;
//! writing sends each write as one binary message (the session writes a packet, then
//! flushes). tungstenite answers pings and the close handshake itself. A text frame is a
//! protocol violation and closes the connection with close code 1002.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

/// The only path served (SPEC §9); any other gets HTTP 404.
pub const PATH: &str = "/mqtt";
/// The subprotocol a client must offer (MQTT 3.1.1 §6, MQTT 5 §6); without it, HTTP 400.
pub const SUBPROTOCOL: &str = "mqtt";
/// tungstenite allocates its read buffer eagerly per connection (default 128 KiB); gateways
/// send small messages, so a small buffer keeps an idle WebSocket session cheap.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Why a WebSocket/TLS connection did not open.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    /// The HTTP upgrade failed or was refused (wrong path, no `mqtt` subprotocol, not a
    /// WebSocket request).
    #[error("WebSocket handshake failed: {0}")]
    WebSocket(#[from] tungstenite::Error),
}

/// Runs the server side of the WebSocket handshake on `stream` (already TLS), refusing any
/// path but [`PATH`] (404) and a request that does not offer [`SUBPROTOCOL`] (400).
/// Incoming frames and messages are capped at `max_packet` bytes, the broker's largest packet.
pub async fn accept<S>(stream: S, max_packet: usize) -> Result<WsTransport<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // The session flushes after every packet, so buffering writes gains nothing.
        .write_buffer_size(0)
        // One outgoing message plus a pong or close frame; more is a bug, not load.
        .max_write_buffer_size(max_packet.saturating_mul(2))
        .max_message_size(Some(max_packet))
        .max_frame_size(Some(max_packet));
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, check_request, Some(config))
        .await?;
    Ok(WsTransport {
        ws,
        unread: Bytes::new(),
        close: None,
        closed: false,
        max_message: max_packet,
    })
}

/// A WebSocket as a byte stream, for [`crate::session`].
///
/// Memory is bounded: reading holds at most one received message (at most `max_packet`
/// bytes) and writing sends a message only when tungstenite's write buffer has room.
/// Reading is cancel-safe (the session reads inside `select!`): bytes leave `unread` only in
/// the poll that hands them out.
pub struct WsTransport<S> {
    /// The WebSocket; tungstenite answers pings and close frames from within its reads.
    ws: WebSocketStream<S>,
    /// The part of the last binary message not read yet.
    unread: Bytes,
    /// A close frame to send on shutdown, set when the client broke the protocol.
    close: Option<CloseFrame>,
    /// The close handshake has been sent; shutdown only closes the TLS stream after it.
    closed: bool,
    /// Largest message written at once.
    max_message: usize,
}

impl<S> std::fmt::Debug for WsTransport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTransport")
            .field("unread", &self.unread.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<S> AsyncRead for WsTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.unread.is_empty() {
                let n = this.unread.len().min(buf.remaining());
                buf.put_slice(&this.unread.split_to(n));
                return Poll::Ready(Ok(()));
            }
            // `None` once the close handshake is done or the connection is gone: EOF.
            let Some(next) = ready!(this.ws.poll_next_unpin(cx)) else {
                return Poll::Ready(Ok(()));
            };
            match next {
                Ok(Message::Binary(data)) => this.unread = data,
                // Pings are answered, and a close is answered and then ends the stream,
                // inside tungstenite's read; keep reading.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_)) => {
                }
                Ok(Message::Text(_)) => {
                    let reason = "MQTT over WebSocket uses binary frames only";
                    return Poll::Ready(Err(this.violation(CloseCode::Protocol, reason, reason)));
                }
                Err(tungstenite::Error::Capacity(e)) => {
                    let reason = "message larger than the broker's packet limit";
                    return Poll::Ready(Err(this.violation(CloseCode::Size, reason, e)));
                }
                Err(tungstenite::Error::Protocol(e)) => {
                    let reason = "WebSocket protocol error";
                    return Poll::Ready(Err(this.violation(CloseCode::Protocol, reason, e)));
                }
                Err(e) => return Poll::Ready(Err(into_io(e))),
            }
        }
    }
}

impl<S> AsyncWrite for WsTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(this.ws.poll_ready_unpin(cx)).map_err(into_io)?;
        let n = buf.len().min(this.max_message);
        let message = Message::Binary(Bytes::copy_from_slice(&buf[..n]));
        this.ws.start_send_unpin(message).map_err(into_io)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().ws.poll_flush_unpin(cx).map_err(into_io)
    }

    /// Sends the close frame (with the protocol-error code if the client broke the
    /// protocol), then closes the TLS stream.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closed {
            if this.close.is_some() {
                // Best effort: if the frame cannot go out, closing below reports why.
                if ready!(this.ws.poll_ready_unpin(cx)).is_ok() {
                    let _ = this.ws.start_send_unpin(Message::Close(this.close.take()));
                }
                this.close = None;
            }
            match ready!(this.ws.poll_close_unpin(cx)) {
                // Already closed by the client: nothing left to say.
                Ok(())
                | Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                }
                Err(e) => return Poll::Ready(Err(into_io(e))),
            }
            this.closed = true;
        }
        Pin::new(this.ws.get_mut()).poll_shutdown(cx)
    }
}

impl<S> WsTransport<S> {
    /// Remembers the close frame for shutdown and returns the error that ends the session.
    fn violation(
        &mut self,
        code: CloseCode,
        reason: &'static str,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> io::Error {
        self.close = Some(CloseFrame {
            code,
            reason: reason.into(),
        });
        io::Error::new(io::ErrorKind::InvalidData, cause)
    }
}

/// The handshake callback: the path, then the subprotocol.
#[allow(
    clippy::result_large_err,
    reason = "the signature of tungstenite's handshake callback"
)]
fn check_request(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() != PATH {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "Not found: MQTT over WebSocket is served at /mqtt.\n",
        ));
    }
    if !offers_mqtt(request) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "The WebSocket subprotocol \"mqtt\" is required (Sec-WebSocket-Protocol: mqtt).\n",
        ));
    }
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(SUBPROTOCOL),
    );
    Ok(response)
}

/// Whether any `Sec-WebSocket-Protocol` header lists `mqtt` (a comma-separated list).
fn offers_mqtt(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .any(|offered| offered.trim() == SUBPROTOCOL)
}

/// An HTTP refusal with a plain-text body; tungstenite writes it and closes the connection.
fn refusal(status: StatusCode, body: &'static str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body.to_owned()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn into_io(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            io::Error::new(io::ErrorKind::NotConnected, e)
        }
        e => io::Error::new(io::ErrorKind::InvalidData, e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use super::*;

    /// A client WebSocket and the server's transport over an in-memory pipe (no TLS).
    async fn pair(max_packet: usize) -> (WebSocketStream<DuplexStream>, WsTransport<DuplexStream>) {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let mut request = "ws://localhost/mqtt".into_client_request().unwrap();
        request.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("mqtt"),
        );
        let (client, server) = tokio::join!(
            tokio_tungstenite::client_async(request, client_io),
            accept(server_io, max_packet)
        );
        (client.unwrap().0, server.unwrap())
    }

    #[tokio::test]
    async fn messages_read_as_one_byte_stream_even_in_small_reads() {
        let (mut client, mut server) = pair(1024).await;
        client.send(Message::binary(&b"hello "[..])).await.unwrap();
        client.send(Message::Ping(Bytes::new())).await.unwrap();
        client.send(Message::binary(&b""[..])).await.unwrap();
        client.send(Message::binary(&b"world"[..])).await.unwrap();
        client.close(None).await.unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 4];
        loop {
            let n = server.read(&mut chunk).await.unwrap();
            if n == 0 {
                break; // the client's close is EOF
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, b"hello world");
    }

    #[tokio::test]
    async fn writes_become_binary_messages_no_larger_than_the_limit() {
        let (mut client, mut server) = pair(8).await;
        let data: Vec<u8> = (0..20).collect();
        server.write_all(&data).await.unwrap();
        server.flush().await.unwrap();
        server.shutdown().await.unwrap();
        let mut got = Vec::new();
        while let Some(message) = client.next().await {
            match message.unwrap() {
                Message::Binary(part) => {
                    assert!(part.len() <= 8);
                    got.extend_from_slice(&part);
                }
                Message::Close(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, data);
    }
}
