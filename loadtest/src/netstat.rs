//! The machine's UDP receive-buffer drops (`RcvbufErrors` in `/proc/net/snmp`): datagrams the
//! kernel discarded because a socket's receive buffer was full. WebRTC on loopback loses
//! packets this way under bulk load, and SCTP then slows down, so the tunnel runs report the
//! count beside each throughput figure. The counter is system-wide: other UDP traffic on the
//! machine adds to it.

use anyhow::Context;

/// `/proc/net/snmp`'s `Udp: … RcvbufErrors …` now.
pub fn udp_rcvbuf_errors() -> anyhow::Result<u64> {
    let text = std::fs::read_to_string("/proc/net/snmp").context("reading /proc/net/snmp")?;
    rcvbuf_errors(&text).context("no Udp RcvbufErrors in /proc/net/snmp")
}

/// The `RcvbufErrors` value of the `Udp:` header and value lines.
fn rcvbuf_errors(snmp: &str) -> Option<u64> {
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let header = udp.next()?;
    let values = udp.next()?;
    let column = header
        .split_whitespace()
        .position(|name| name == "RcvbufErrors")?;
    values.split_whitespace().nth(column)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_column_by_name() {
        let snmp = "Tcp: RtoAlgorithm RcvbufErrors\nTcp: 1 99\n\
            Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
            Udp: 361186 238 3545 355574 3545 0\n\
            UdpLite: InDatagrams RcvbufErrors\nUdpLite: 0 7\n";
        assert_eq!(rcvbuf_errors(snmp), Some(3545));
        assert_eq!(rcvbuf_errors("Udp: InDatagrams\nUdp: 5\n"), None);
        assert_eq!(rcvbuf_errors(""), None);
    }

    #[test]
    fn reads_this_machine() {
        udp_rcvbuf_errors().unwrap();
    }
}
