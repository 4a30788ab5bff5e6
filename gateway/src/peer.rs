//! One WebRTC PeerConnection per signaling session, built with the setup-time recipe of
//! `notes/webrtc-relay.md` on the stock crates: relay nomination without the 2 s floor in
//! relay-only mode, no peer-reflexive wait, a fast ICE check interval, and the driver
//! "kicker" (a negotiated, never-used DataChannel poked periodically so the webrtc 0.21
//! driver flushes what it produced, which is what makes relayed setups and relayed
//! throughput fast). Events come back tagged with the session they belong to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_protocol::{IceCandidate, IceServer, TunnelPath};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, SettingEngineBuilder,
};

use crate::options::Options;

/// The label of the control channel the offerer opens with the offer: its opening is the
/// tunnel being up.
pub const CONTROL_LABEL: &str = "switchboard";
/// The label of a channel carrying one TCP connection.
pub const TCP_LABEL: &str = "tcp";
/// Stream id of the kicker channel (negotiated out of band, never used for data; in-band
/// channels skip ids in use).
const KICKER_STREAM_ID: u16 = 1023;

/// What a PeerConnection reports.
pub enum PeerEvent {
    /// A local candidate to trickle; `None` = gathering complete.
    Candidate(Option<IceCandidate>),
    /// The connection state changed.
    State(RTCPeerConnectionState),
    /// The peer opened a DataChannel.
    Channel(Arc<dyn DataChannel>),
}

/// A session's PeerConnection and its kicker.
pub struct Peer {
    /// The connection.
    pub pc: Arc<dyn PeerConnection>,
    kicker: Option<tokio::task::JoinHandle<()>>,
    /// When it was built.
    pub started: Instant,
}

impl Peer {
    /// Builds a PeerConnection for `session`; its events go to `events`.
    pub async fn build(
        opts: &Options,
        ice_servers: &[IceServer],
        session: String,
        events: mpsc::UnboundedSender<(String, PeerEvent)>,
    ) -> anyhow::Result<Peer> {
        let mut setting = SettingEngineBuilder::new()
            .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
            .with_relay_acceptance_min_wait(Some(if opts.relay_only {
                Duration::ZERO
            } else {
                Duration::from_millis(300)
            }))
            .with_ice_connection_attempts(
                Some(opts.ice_check_interval),
                Some(attempts(opts.ice_check_interval)),
            )
            .with_ice_timeouts(
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(2)),
            )
            .with_sctp_max_receive_buffer_size(4 << 20);
        if opts.udp_bind.ip().is_loopback() {
            setting = setting.with_include_loopback_candidate(true);
        }
        let servers = ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone().unwrap_or_default(),
                credential: s.credential.clone().unwrap_or_default(),
            })
            .collect();
        let mut config = RTCConfigurationBuilder::new().with_ice_servers(servers);
        if opts.relay_only {
            config = config.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
        }
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config.build())
            .with_setting_engine(setting.build())
            .with_handler(Arc::new(Handler { session, events }))
            .with_udp_addrs(vec![opts.udp_bind.to_string()])
            .with_data_channel_send_buffer_limit(opts.send_buffer)
            .build()
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let kicker = if opts.kicker.is_zero() {
            None
        } else {
            let kick = pc
                .create_data_channel(
                    "kick",
                    Some(RTCDataChannelInit {
                        negotiated: Some(KICKER_STREAM_ID),
                        ..Default::default()
                    }),
                )
                .await?;
            let period = opts.kicker;
            Some(tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tick.tick().await;
                    if kick.set_buffered_amount_low_threshold(0).await.is_err() {
                        break;
                    }
                }
            }))
        };
        Ok(Peer {
            pc,
            kicker,
            started: Instant::now(),
        })
    }

    /// How the connected tunnel travels: the selected pair's candidate types.
    pub async fn path(&self) -> (TunnelPath, Option<String>, Option<String>) {
        use rtc::statistics::report::RTCStatsReportEntry as E;
        let report = self
            .pc
            .get_stats(Instant::now(), rtc::statistics::StatsSelector::None)
            .await;
        let selected = report.iter().find_map(|e| match e {
            E::Transport(t) if !t.selected_candidate_pair_id.is_empty() => {
                Some(t.selected_candidate_pair_id.clone())
            }
            _ => None,
        });
        let pair = report.candidate_pairs().find(|p| match &selected {
            Some(id) => p.stats.id.as_str() == id.as_str(),
            None => p.nominated,
        });
        let (mut local, mut remote) = (None, None);
        if let Some(pair) = pair {
            for entry in report.iter() {
                match entry {
                    E::LocalCandidate(c)
                        if c.stats.id.to_string().ends_with(&pair.local_candidate_id) =>
                    {
                        local = Some(c.candidate_type.to_string());
                    }
                    E::RemoteCandidate(c)
                        if c.stats.id.to_string().ends_with(&pair.remote_candidate_id) =>
                    {
                        remote = Some(c.candidate_type.to_string());
                    }
                    _ => {}
                }
            }
        }
        let relayed = local.as_deref() == Some("relay") || remote.as_deref() == Some("relay");
        let path = if relayed {
            TunnelPath::Relay
        } else {
            TunnelPath::Direct
        };
        (path, local, remote)
    }

    /// Closes the connection and stops the kicker.
    pub async fn close(self) {
        if let Some(kicker) = self.kicker {
            kicker.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.pc.close()).await;
    }
}

/// Binding requests per pair so checking lasts about 1.5 s whatever the interval.
fn attempts(interval: Duration) -> u16 {
    let ms = interval.as_millis().max(1);
    u16::try_from((1500 / ms).clamp(7, 500)).unwrap_or(50)
}

/// Converts a candidate from the wire to webrtc's type.
pub fn to_init(c: &IceCandidate) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: c.candidate.clone(),
        sdp_mid: c.sdp_mid.clone(),
        sdp_mline_index: c.sdp_m_line_index,
        username_fragment: c.username_fragment.clone(),
        ..Default::default()
    }
}

struct Handler {
    session: String,
    events: mpsc::UnboundedSender<(String, PeerEvent)>,
}

impl Handler {
    fn emit(&self, event: PeerEvent) {
        let _ = self.events.send((self.session.clone(), event));
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            self.emit(PeerEvent::Candidate(Some(IceCandidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_m_line_index: init.sdp_mline_index,
                username_fragment: init.username_fragment,
            })));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.emit(PeerEvent::Candidate(None));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.emit(PeerEvent::State(state));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        self.emit(PeerEvent::Channel(channel));
    }
}
