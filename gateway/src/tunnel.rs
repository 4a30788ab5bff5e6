//! TCP carried through the tunnel: one in-band (DCEP) DataChannel, labelled `tcp`, per TCP
//! connection. Binary messages are the stream's bytes in order; the text message `fin` ends
//! one direction (TCP half-close), and the channel closes once both directions ended or
//! either socket failed. Back-pressure both ways: a send waits while the channel holds more
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

/// Carries `tcp` through the open channel `dc` until both directions end; closes both.
pub async fn splice(dc: Arc<dyn DataChannel>, tcp: TcpStream) -> Carried {
    let _ = tcp.set_nodelay(true);
    let (mut reader, mut writer) = tcp.into_split();
    let upstream_dc = dc.clone();
    let upstream = async move {
        let mut sent = 0u64;
        let mut buf = BytesMut::with_capacity(CHUNK);
        loop {
            buf.reserve(CHUNK);
            match reader.read_buf(&mut buf).await {
                Ok(0) => {
                    let _ = upstream_dc.send_text(FIN).await;
                    return (sent, true);
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
        while let Some(event) = dc.poll().await {
            match event {
                DataChannelEvent::OnMessage(m)
                    if m.is_string && m.data.as_ref() == FIN.as_bytes() =>
                {
                    let _ = writer.shutdown().await;
                    return (received, true);
                }
                DataChannelEvent::OnMessage(m) if m.is_string => {}
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
        (received, false)
    };
    // Either direction failing ends both; a clean end of one waits for the other.
    tokio::pin!(upstream);
    tokio::pin!(downstream);
    let (mut up, mut down) = (None, None);
    while up.is_none() || down.is_none() {
        tokio::select! {
            r = &mut upstream, if up.is_none() => {
                if !r.1 { up = Some(r); break; }
                up = Some(r);
            }
            r = &mut downstream, if down.is_none() => {
                if !r.1 { down = Some(r); break; }
                down = Some(r);
            }
        }
    }
    // Close only once the peer has acknowledged everything sent: a channel closed with data
    // in flight can lose its tail (the stream reset overtakes it).
    let drained = async {
        while dc.outstanding_bytes().await.is_ok_and(|n| n > 0) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), drained).await;
    let _ = dc.close().await;
    Carried {
        sent: up.map_or(0, |r| r.0),
        received: down.map_or(0, |r| r.0),
    }
}
