//! A minimal SMTP server on loopback for tests: accepts every message and keeps its DATA with
//! the time it was accepted. Stoppable and restartable on the same port; while `stall` is set it
//! never answers the end of DATA (a server hanging mid-delivery), and keeps nothing.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

type Accepted = Arc<Mutex<Vec<(String, Instant)>>>;

pub struct SmtpSink {
    port: u16,
    messages: Accepted,
    stall: Arc<AtomicBool>,
    /// Sessions that reached the end of DATA while stalled.
    stalled: Arc<Mutex<usize>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let mut sink = SmtpSink {
            port: 0,
            messages: Arc::default(),
            stall: Arc::default(),
            stalled: Arc::default(),
            task: None,
        };
        sink.listen().await;
        sink
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        socket.bind(addr).expect("bind the SMTP port");
        let listener = socket.listen(64).expect("listen");
        self.port = listener.local_addr().expect("address").port();
        let (messages, stall, stalled) = (
            self.messages.clone(),
            self.stall.clone(),
            self.stalled.clone(),
        );
        self.task = Some(tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                sessions.spawn(session(
                    stream,
                    messages.clone(),
                    stall.clone(),
                    stalled.clone(),
                ));
            }
        }));
    }

    /// Closes the port and every open connection.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    pub async fn restart(&mut self) {
        self.stop();
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.listen().await;
    }

    /// While true, the end of DATA gets no answer and the message is not kept.
    pub fn set_stall(&self, stall: bool) {
        self.stall.store(stall, Relaxed);
    }

    /// How many deliveries reached the end of DATA while stalled.
    pub fn stalled(&self) -> usize {
        *self.stalled.lock().expect("sink lock")
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.messages.lock().expect("sink lock").len()
    }

    pub fn messages(&self) -> Vec<String> {
        self.timed_messages()
            .into_iter()
            .map(|(data, _)| data)
            .collect()
    }

    pub fn timed_messages(&self) -> Vec<(String, Instant)> {
        self.messages.lock().expect("sink lock").clone()
    }

    /// The Message-ID header of each accepted message.
    pub fn message_ids(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter_map(|data| {
                data.lines()
                    .find_map(|l| l.strip_prefix("Message-ID: "))
                    .map(|id| id.trim().to_owned())
            })
            .collect()
    }
}

async fn session(
    stream: TcpStream,
    messages: Accepted,
    stall: Arc<AtomicBool>,
    stalled: Arc<Mutex<usize>>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
            "DATA" => {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == ".\r\n" => break,
                        Ok(_) => data.push_str(&line),
                    }
                }
                if stall.load(Relaxed) {
                    *stalled.lock().expect("sink lock") += 1;
                    // Hold the connection without an answer until the client goes away.
                    let mut rest = String::new();
                    while matches!(lines.read_line(&mut rest).await, Ok(n) if n > 0) {
                        rest.clear();
                    }
                    return;
                }
                messages
                    .lock()
                    .expect("sink lock")
                    .push((data, Instant::now()));
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"250 OK\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
