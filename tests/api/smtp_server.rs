//! A small SMTP server speaking the protocol over TCP, for delivery tests: it can refuse the
//! first N messages with a temporary failure, refuse every message permanently, answer every
//! command slowly, or accept connections and never say a word.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream, tcp::OwnedWriteHalf},
};

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    pub auth: Option<String>,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    refused: usize,
    accepted: Vec<String>,
    connections: usize,
    /// Messages between `MAIL FROM` and the end of their `DATA` (or a reset) right now, and
    /// the most there have been at once.
    in_flight: usize,
    most_in_flight: usize,
}

/// How the server treats messages.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    Accept,
    /// Answer `451` to the first N messages, then accept.
    RefuseFirst(usize),
    /// Answer `550` to every message.
    RefuseAll,
    /// Accept every message, but wait this long before each reply (the greeting included).
    Slow(Duration),
    /// Accept TCP connections and never send the greeting (or anything else).
    Blackhole,
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl SmtpServer {
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = shared.clone();
                state.lock().expect("lock").connections += 1;
                tokio::spawn(async move {
                    let _ = match behaviour {
                        Behaviour::Blackhole => swallow(socket).await,
                        _ => session(socket, state, behaviour).await,
                    };
                });
            }
        });
        Self { addr, state }
    }

    /// `smtp://127.0.0.1:PORT` (no TLS offered, so none is used).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("lock").received.clone()
    }

    pub fn refused(&self) -> usize {
        self.state.lock().expect("lock").refused
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().expect("lock").connections
    }

    /// The most messages that were in flight at once (from `MAIL FROM` to the end of `DATA`)
    /// since the server started or this was last called.
    pub fn take_most_in_flight(&self) -> usize {
        let mut st = self.state.lock().expect("lock");
        let now = st.in_flight;
        std::mem::replace(&mut st.most_in_flight, now)
    }

    /// How many times `RCPT TO` and a complete `DATA` were accepted for `recipient`.
    pub fn deliveries_to(&self, recipient: &str) -> (usize, usize) {
        let st = self.state.lock().expect("lock");
        let rcpt = st.accepted.iter().filter(|r| *r == recipient).count();
        let data = st
            .received
            .iter()
            .filter(|m| m.to.iter().any(|t| t == recipient))
            .count();
        (rcpt, data)
    }
}

/// Holds the connection open, reading and discarding, and never answers.
async fn swallow(mut socket: TcpStream) -> std::io::Result<()> {
    let mut sink = [0u8; 1024];
    while socket.read(&mut sink).await? > 0 {}
    Ok(())
}

/// Writes one reply, after the behaviour's delay.
async fn answer(
    write: &mut OwnedWriteHalf,
    behaviour: Behaviour,
    reply: &[u8],
) -> std::io::Result<()> {
    if let Behaviour::Slow(delay) = behaviour {
        tokio::time::sleep(delay).await;
    }
    write.write_all(reply).await
}

async fn session(
    socket: TcpStream,
    state: Arc<Mutex<State>>,
    behaviour: Behaviour,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    answer(&mut write, behaviour, b"220 test.local ESMTP ready\r\n").await?;
    let (mut from, mut to, mut auth) = (String::new(), Vec::new(), None);
    let mut message = InFlight::new(state.clone());
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-test.local\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n".into()
        } else if upper.starts_with("HELO") {
            "250 test.local\r\n".into()
        } else if upper.starts_with("AUTH PLAIN") {
            auth = Some(line[10..].trim().to_owned());
            "235 2.7.0 authenticated\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_owned();
            to.clear();
            message.start();
            "250 2.1.0 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            let mut st = state.lock().expect("lock");
            match behaviour {
                Behaviour::RefuseAll => {
                    st.refused += 1;
                    "550 5.1.1 mailbox unavailable\r\n".into()
                }
                Behaviour::RefuseFirst(n) if st.refused < n => {
                    st.refused += 1;
                    "451 4.3.0 try again later\r\n".into()
                }
                _ => {
                    let recipient = line[8..].trim().trim_matches(['<', '>']).to_owned();
                    st.accepted.push(recipient.clone());
                    to.push(recipient);
                    "250 2.1.5 ok\r\n".into()
                }
            }
        } else if upper == "DATA" {
            answer(&mut write, behaviour, b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push('\n');
            }
            state.lock().expect("lock").received.push(Received {
                from: from.clone(),
                to: to.clone(),
                data,
                auth: auth.clone(),
            });
            answer(&mut write, behaviour, b"250 2.0.0 queued\r\n").await?;
            message.end();
            continue;
        } else if upper == "QUIT" {
            answer(&mut write, behaviour, b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
            if upper.starts_with("RSET") {
                message.end();
            }
            "250 2.0.0 ok\r\n".into()
        } else {
            "502 5.5.2 command not recognized\r\n".into()
        };
        answer(&mut write, behaviour, reply.as_bytes()).await?;
    }
    Ok(())
}

/// Undoes quoted-printable soft line breaks and escapes (enough for our ASCII messages).
pub fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The token in the message's accept link.
pub fn token_in(message: &str) -> Option<String> {
    let decoded = decode_qp(message);
    let start = decoded.find("token=")? + "token=".len();
    let token: String = decoded[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// Whether a session has a message in flight, counted in the server's state; a session that
/// ends mid-message stops counting.
struct InFlight {
    state: Arc<Mutex<State>>,
    open: bool,
}

impl InFlight {
    fn new(state: Arc<Mutex<State>>) -> Self {
        Self { state, open: false }
    }

    fn start(&mut self) {
        if !self.open {
            self.open = true;
            let mut st = self.state.lock().expect("lock");
            st.in_flight += 1;
            st.most_in_flight = st.most_in_flight.max(st.in_flight);
        }
    }

    fn end(&mut self) {
        if self.open {
            self.open = false;
            self.state.lock().expect("lock").in_flight -= 1;
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.end();
    }
}
