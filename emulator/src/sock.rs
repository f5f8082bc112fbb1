//! Emulated sockets: the socket table of an sk_storage scenario and the guest image of each
//! socket's `struct sock`.
//!
//! A [`SocketSpec`] is one entry of a scenario's `sockets` list (the sk-oracle format: family,
//! type, optional `bind` and `listen`). [`SocketTable::build`] resolves the specs in order
//! into [`Socket`]s: the protocol the kernel picks (TCP for stream, UDP for datagram), the
//! bound address, the local port (a port-0 bind gets an emulator-chosen port from the
//! ephemeral range, deterministically: the lowest free one in
//! [`EPHEMERAL_LOW`]..=[`EPHEMERAL_HIGH`]), and the TCP state. [`Socket::image`] lays each
//! socket out like the prefix of Linux 6.18's x86-64 `struct sock` for the fields the
//! emulator models (offsets read from this kernel's BTF, see [`SOCK_OFF_SKC_NUM`] and
//! friends), with the kernel's byte orders: addresses and `skc_dport` big-endian, `skc_num`
//! host order. Everything else in the [`SOCK_SIZE`] bytes is zero.
//!
//! Not modelled: connecting, accepting, sending, socket options, the rest of `struct sock`
//! (timers, queues, credentials, cookies), address-in-use conflicts between binds, the
//! IPv4-mapped part of an IPv6 socket's `skc_rcv_saddr` (left 0) and every address family other
//! than `AF_INET` and `AF_INET6`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::scenario::ScenarioError;

/// `sizeof(struct sock)` on Linux 6.18 x86-64.
pub const SOCK_SIZE: usize = 784;
/// `offsetof(struct sock_common, skc_daddr)` (`__be32`).
pub const SOCK_OFF_SKC_DADDR: usize = 0;
/// `offsetof(struct sock_common, skc_rcv_saddr)` (`__be32`).
pub const SOCK_OFF_SKC_RCV_SADDR: usize = 4;
/// `offsetof(struct sock_common, skc_hash)` (`unsigned int`).
pub const SOCK_OFF_SKC_HASH: usize = 8;
/// `offsetof(struct sock_common, skc_dport)` (`__be16`).
pub const SOCK_OFF_SKC_DPORT: usize = 12;
/// `offsetof(struct sock_common, skc_num)` (`__u16`, host byte order).
pub const SOCK_OFF_SKC_NUM: usize = 14;
/// `offsetof(struct sock_common, skc_family)` (`unsigned short`).
pub const SOCK_OFF_SKC_FAMILY: usize = 16;
/// `offsetof(struct sock_common, skc_state)` (`unsigned char`).
pub const SOCK_OFF_SKC_STATE: usize = 18;
/// `offsetof(struct sock_common, skc_bound_dev_if)` (`int`).
pub const SOCK_OFF_SKC_BOUND_DEV_IF: usize = 20;
/// `offsetof(struct sock_common, skc_v6_daddr)` (`struct in6_addr`).
pub const SOCK_OFF_SKC_V6_DADDR: usize = 56;
/// `offsetof(struct sock_common, skc_v6_rcv_saddr)` (`struct in6_addr`).
pub const SOCK_OFF_SKC_V6_RCV_SADDR: usize = 72;
/// `sizeof(struct sock_common)`.
pub const SOCK_COMMON_SIZE: usize = 136;
/// `offsetof(struct sock, sk_priority)` (`u32`).
pub const SOCK_OFF_SK_PRIORITY: usize = 520;
/// `offsetof(struct sock, sk_mark)` (`u32`).
pub const SOCK_OFF_SK_MARK: usize = 524;
/// `offsetof(struct sock, sk_protocol)` (`u16`).
pub const SOCK_OFF_SK_PROTOCOL: usize = 532;
/// `offsetof(struct sock, sk_type)` (`u16`).
pub const SOCK_OFF_SK_TYPE: usize = 534;
/// `offsetof(struct sock, sk_ack_backlog)` (`u32`).
pub const SOCK_OFF_SK_ACK_BACKLOG: usize = 600;
/// `offsetof(struct sock, sk_max_ack_backlog)` (`u32`).
pub const SOCK_OFF_SK_MAX_ACK_BACKLOG: usize = 604;

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `SOCK_STREAM`.
pub const SOCK_STREAM: u16 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: u16 = 2;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u16 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u16 = 17;
/// `TCP_CLOSE`: the state of every socket that is not listening (UDP sockets included).
pub const TCP_CLOSE: u8 = 7;
/// `TCP_LISTEN`.
pub const TCP_LISTEN: u8 = 10;

/// Lowest port of the ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`, default).
pub const EPHEMERAL_LOW: u16 = 32768;
/// Highest port of the ephemeral range.
pub const EPHEMERAL_HIGH: u16 = 60999;

/// The emulated file descriptor of the first socket; socket `i` is `SOCK_FD_BASE + i` (the
/// key of `BPF_MAP_UPDATE_ELEM` on an sk_storage map).
pub const SOCK_FD_BASE: u32 = 3;

/// One socket of a scenario (sk-oracle's `sockets[]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SocketSpec {
    /// `inet` (`AF_INET`) or `inet6` (`AF_INET6`).
    pub family: String,
    /// `stream` (TCP) or `dgram` (UDP).
    #[serde(rename = "type")]
    pub sock_type: String,
    /// `"127.0.0.1:28411"` or `"[::1]:0"`; port 0 lets the emulator choose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// `listen()` after the bind (stream sockets only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub listen: bool,
    /// The listen backlog (`sk_max_ack_backlog`); default 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
}

/// A resolved socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// Index in the scenario's list.
    pub index: usize,
    /// The spec it came from.
    pub spec: SocketSpec,
    /// `AF_INET` or `AF_INET6`.
    pub af: u16,
    /// `SOCK_STREAM` or `SOCK_DGRAM`.
    pub sock_type: u16,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub protocol: u16,
    /// The local address (unspecified when not bound).
    pub addr: IpAddr,
    /// The local port (0 when not bound).
    pub port: u16,
    /// `skc_state`.
    pub state: u8,
}

impl Socket {
    /// The emulated file descriptor.
    pub fn fd(&self) -> u32 {
        SOCK_FD_BASE.saturating_add(self.index as u32)
    }

    /// The socket as `struct sock` bytes ([`SOCK_SIZE`] of them).
    pub fn image(&self) -> Vec<u8> {
        let mut b = vec![0u8; SOCK_SIZE];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        match self.addr {
            IpAddr::V4(a) => put(SOCK_OFF_SKC_RCV_SADDR, &a.octets()),
            IpAddr::V6(a) => put(SOCK_OFF_SKC_V6_RCV_SADDR, &a.octets()),
        }
        put(SOCK_OFF_SKC_NUM, &self.port.to_le_bytes());
        put(SOCK_OFF_SKC_FAMILY, &self.af.to_le_bytes());
        put(SOCK_OFF_SKC_STATE, &[self.state]);
        put(SOCK_OFF_SK_PROTOCOL, &self.protocol.to_le_bytes());
        put(SOCK_OFF_SK_TYPE, &self.sock_type.to_le_bytes());
        if self.spec.listen {
            let backlog = self.spec.backlog.unwrap_or(8);
            put(SOCK_OFF_SK_MAX_ACK_BACKLOG, &backlog.to_le_bytes());
        }
        b
    }

    /// The sk-oracle's report of the socket: `index`, `family`, `type`, `af`, `sock_type`,
    /// `protocol`, `bind` (when given), `listen`, `addr`, `port`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        o.insert("index".into(), self.index.into());
        o.insert("family".into(), self.spec.family.clone().into());
        o.insert("type".into(), self.spec.sock_type.clone().into());
        o.insert("af".into(), self.af.into());
        o.insert("sock_type".into(), self.sock_type.into());
        o.insert("protocol".into(), self.protocol.into());
        if let Some(b) = &self.spec.bind {
            o.insert("bind".into(), b.clone().into());
        }
        o.insert("listen".into(), self.spec.listen.into());
        o.insert("addr".into(), self.addr.to_string().into());
        o.insert("port".into(), self.port.into());
        serde_json::Value::Object(o)
    }

    /// Whether the port was chosen by the kernel (bound to port 0, or not bound): such a
    /// port is not a stable field.
    pub fn port_is_chosen(&self) -> bool {
        self.spec.bind.as_deref().is_none_or(|b| b.ends_with(":0"))
    }
}

/// The sockets of a scenario, in creation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketTable {
    /// The sockets.
    pub sockets: Vec<Socket>,
}

fn field_err(i: usize, field: &str, what: String) -> ScenarioError {
    ScenarioError::Field {
        field: format!("sockets[{i}].{field}"),
        what,
    }
}

impl SocketTable {
    /// Resolves `specs` in order: families, types, binds (port 0: the lowest free port of
    /// the ephemeral range for that protocol) and listens.
    ///
    /// # Errors
    ///
    /// [`ScenarioError::Field`] naming the socket's field for an unknown family or type, an
    /// unparsable bind address or one of the other family, and `listen` on a datagram
    /// socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use iterscope_emulator::sock::{SocketSpec, SocketTable, EPHEMERAL_LOW};
    /// let spec = |bind: &str| SocketSpec { family: "inet".into(), sock_type: "stream".into(),
    ///     bind: Some(bind.into()), listen: false, backlog: None };
    /// let t = SocketTable::build(&[spec("127.0.0.1:0"), spec("127.0.0.1:0")]).unwrap();
    /// assert_eq!(t.sockets[0].port, EPHEMERAL_LOW);
    /// assert_eq!(t.sockets[1].port, EPHEMERAL_LOW + 1);
    /// ```
    pub fn build(specs: &[SocketSpec]) -> Result<SocketTable, ScenarioError> {
        let mut sockets: Vec<Socket> = Vec::with_capacity(specs.len());
        // Fixed ports first, so an emulator-chosen port never collides with a later one.
        let mut fixed = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            if let Some(b) = &s.bind {
                let sa: SocketAddr = b.parse().map_err(|_| {
                    field_err(
                        i,
                        "bind",
                        format!("{b:?} is not an address:port (\"127.0.0.1:28411\", \"[::1]:0\")"),
                    )
                })?;
                if sa.port() != 0 {
                    fixed.push((s.sock_type.clone(), sa.port()));
                }
            }
        }
        let mut next_port = EPHEMERAL_LOW;
        for (i, s) in specs.iter().enumerate() {
            let (af, unspec) = match s.family.as_str() {
                "inet" => (AF_INET, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                "inet6" => (AF_INET6, IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
                other => {
                    return Err(field_err(
                        i,
                        "family",
                        format!("unknown family {other:?} (inet, inet6)"),
                    ))
                }
            };
            let (sock_type, protocol) = match s.sock_type.as_str() {
                "stream" => (SOCK_STREAM, IPPROTO_TCP),
                "dgram" => (SOCK_DGRAM, IPPROTO_UDP),
                other => {
                    return Err(field_err(
                        i,
                        "type",
                        format!("unknown type {other:?} (stream, dgram)"),
                    ))
                }
            };
            if s.listen && sock_type != SOCK_STREAM {
                return Err(field_err(
                    i,
                    "listen",
                    "only stream sockets listen (listen(2) on a datagram socket fails with EOPNOTSUPP)".into(),
                ));
            }
            let (mut addr, mut port) = (unspec, 0);
            if let Some(b) = &s.bind {
                let sa: SocketAddr = b
                    .parse()
                    .map_err(|_| field_err(i, "bind", format!("{b:?} is not an address:port")))?;
                if sa.is_ipv4() != (af == AF_INET) {
                    return Err(field_err(
                        i,
                        "bind",
                        format!("{b:?} is not an address of family {}", s.family),
                    ));
                }
                addr = sa.ip();
                port = sa.port();
                if port == 0 {
                    let taken = |p: u16| {
                        fixed.iter().any(|(t, f)| *t == s.sock_type && *f == p)
                            || sockets
                                .iter()
                                .any(|o| o.sock_type == sock_type && o.port == p)
                    };
                    while taken(next_port) && next_port < EPHEMERAL_HIGH {
                        next_port += 1;
                    }
                    port = next_port;
                    next_port = next_port.saturating_add(1).min(EPHEMERAL_HIGH);
                }
            } else if s.listen {
                // listen() on an unbound socket autobinds it to an ephemeral port.
                port = next_port;
                next_port = next_port.saturating_add(1).min(EPHEMERAL_HIGH);
            }
            sockets.push(Socket {
                index: i,
                spec: s.clone(),
                af,
                sock_type,
                protocol,
                addr,
                port,
                state: if s.listen { TCP_LISTEN } else { TCP_CLOSE },
            });
        }
        Ok(SocketTable { sockets })
    }

    /// The socket whose emulated fd is `fd`.
    pub fn by_fd(&self, fd: u32) -> Option<&Socket> {
        let i = fd.checked_sub(SOCK_FD_BASE)? as usize;
        self.sockets.get(i)
    }

    /// Number of sockets.
    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    /// Whether there is no socket.
    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(family: &str, ty: &str, bind: Option<&str>, listen: bool) -> SocketSpec {
        SocketSpec {
            family: family.into(),
            sock_type: ty.into(),
            bind: bind.map(Into::into),
            listen,
            backlog: None,
        }
    }

    #[test]
    fn image_has_kernel_byte_orders() {
        let t =
            SocketTable::build(&[spec("inet", "stream", Some("127.0.0.1:28411"), true)]).unwrap();
        let img = t.sockets[0].image();
        assert_eq!(&img[4..8], &[127, 0, 0, 1]);
        assert_eq!(u16::from_le_bytes([img[14], img[15]]), 28411);
        assert_eq!(u16::from_le_bytes([img[16], img[17]]), AF_INET);
        assert_eq!(img[18], TCP_LISTEN);
        assert_eq!(u16::from_le_bytes([img[532], img[533]]), IPPROTO_TCP);
        assert_eq!(u16::from_le_bytes([img[534], img[535]]), SOCK_STREAM);
    }

    #[test]
    fn chosen_ports_skip_fixed_ones_and_bad_specs_name_the_field() {
        let t = SocketTable::build(&[
            spec("inet6", "dgram", Some("[::1]:0"), false),
            spec("inet", "dgram", Some("127.0.0.1:32768"), false),
            spec("inet", "stream", None, false),
        ])
        .unwrap();
        assert_eq!(t.sockets[0].port, 32769);
        assert_eq!(t.sockets[2].port, 0);
        assert_eq!(t.sockets[2].addr.to_string(), "0.0.0.0");
        match SocketTable::build(&[spec("inet", "dgram", Some("[::1]:0"), false)]) {
            Err(ScenarioError::Field { field, .. }) => assert_eq!(field, "sockets[0].bind"),
            other => panic!("{other:?}"),
        }
        assert!(SocketTable::build(&[spec("inet", "dgram", None, true)]).is_err());
    }
}
