//! TCP carried through the tunnel: one in-band (DCEP) DataChannel, labelled `tcp`, per TCP
//! connection. Binary messages are the stream's bytes in order; the text message `fin` ends
//! one direction (TCP half-close) and is answered with `fin-ack` once consumed. After both
//! `fin`s are consumed and acknowledged the connection is over (the channel is left idle, see
//! [`splice`]); a socket or channel error closes the channel. Back-pressure both ways: a send waits while the channel holds more
//! than the send buffer unacknowledged (so a slow far end stops our reads of the local
//! socket), and a slow local socket stops our polling of the channel, which the webrtc
//! driver turns into SCTP receive-window back-pressure. Memory stays bounded either way.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

/// Largest message sent: well under the 64 KiB `max-message-size` browsers and aiortc
/// announce.
pub const CHUNK: usize = 32 * 1024;

/// The text message that ends one direction.
pub const FIN: &str = "fin";

/// The text message that says the peer's `fin` was consumed (everything before it delivered).
pub const FIN_ACK: &str = "fin-ack";

/// How long to wait for the peer's `fin-ack` once our `fin` is sent.
const FIN_ACK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How often a receiver waiting for `fin-ack` checks whether it has waited long enough.
const ACK_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Counts what went through, for logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Carried {
    /// Bytes from the local socket into the channel.
    pub sent: u64,
    /// Bytes from the channel to the local socket.
    pub received: u64,
}

/// Waits for the channel to open (the side that created it).
pub async fn opened(dc: &Arc<dyn DataChannel>) -> bool {
    while let Some(event) = dc.poll().await {
        match event {
            DataChannelEvent::OnOpen => return true,
            DataChannelEvent::OnClose | DataChannelEvent::OnError => return false,
            _ => {}
        }
    }
    false
}

/// Carries `tcp` through the open channel `dc` until both directions end.
///
/// A clean end is the `fin` / `fin-ack` handshake both ways: this side consumed the peer's
/// `fin` (all its bytes are written to the socket) and the peer's `fin-ack` (it consumed
/// ours). The channel is then left as it is, not closed: with webrtc 0.21, closing a channel
/// drops what the receiver has not read yet, and a stream id freed by a close can be handed
/// to a new channel while the far side still holds the old stream, so that channel never
/// opens. An unclosed, idle channel costs a stream id and a few bytes; the source starts a
/// new session before a session's ids run out (see `gateway.rs`). A socket or channel error
/// closes the channel (the TCP connection failed anyway).
pub async fn splice(dc: Arc<dyn DataChannel>, tcp: TcpStream) -> Carried {
    let _ = tcp.set_nodelay(true);
    let (mut reader, mut writer) = tcp.into_split();
    let upstream_dc = dc.clone();
    // When our `fin` went out: from then on the peer's `fin-ack` is awaited at most
    // FIN_ACK_WAIT (after its own `fin`), so a peer that never acknowledges cannot hold the
    // channel open forever.
    let fin_sent: Arc<std::sync::OnceLock<tokio::time::Instant>> = Arc::default();
    let fin_sent_up = fin_sent.clone();
    let upstream = async move {
        let mut sent = 0u64;
        let mut buf = BytesMut::with_capacity(CHUNK);
        loop {
            buf.reserve(CHUNK);
            match reader.read_buf(&mut buf).await {
                Ok(0) => {
                    let ok = upstream_dc.send_text(FIN).await.is_ok();
                    let _ = fin_sent_up.set(tokio::time::Instant::now());
                    return (sent, ok);
                }
                Ok(n) => {
                    sent += n as u64;
                    let chunk = buf.split_to(n);
                    if upstream_dc.send(chunk).await.is_err() {
                        return (sent, false);
                    }
                }
                Err(_) => return (sent, false),
            }
        }
    };
    let downstream = async {
        let mut received = 0u64;
        let (mut got_fin, mut got_ack) = (false, false);
        loop {
            let event = match tokio::time::timeout(ACK_CHECK, dc.poll()).await {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(_) => {
                    let overdue = fin_sent.get().is_some_and(|at| at.elapsed() > FIN_ACK_WAIT);
                    if got_fin && overdue {
                        return (received, true);
                    }
                    continue;
                }
            };
            match event {
                DataChannelEvent::OnMessage(m) if m.is_string => {
                    if m.data.as_ref() == FIN.as_bytes() {
                        let _ = writer.shutdown().await;
                        got_fin = true;
                        if dc.send_text(FIN_ACK).await.is_err() {
                            return (received, false);
                        }
                    } else if m.data.as_ref() == FIN_ACK.as_bytes() {
                        got_ack = true;
                    }
                    if got_fin && got_ack {
                        return (received, true);
                    }
                }
                DataChannelEvent::OnMessage(m) => {
                    received += m.data.len() as u64;
                    if writer.write_all(&m.data).await.is_err() {
                        return (received, false);
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
        let _ = writer.shutdown().await;
        (received, got_fin)
    };
    // Either direction failing ends both; a clean end of one waits for the other.
    tokio::pin!(upstream);
    tokio::pin!(downstream);
    let (mut up, mut down) = (None, None);
    let mut clean = true;
    while up.is_none() || down.is_none() {
        tokio::select! {
            r = &mut upstream, if up.is_none() => {
                clean &= r.1;
                up = Some(r);
                if !clean { break; }
            }
            r = &mut downstream, if down.is_none() => {
                clean &= r.1;
                down = Some(r);
                if !clean { break; }
            }
        }
    }
    if !clean {
        let _ = dc.close().await;
    }
    Carried {
        sent: up.map_or(0, |r| r.0),
        received: down.map_or(0, |r| r.0),
    }
}
