//! A real HTTP/1.1 server on 127.0.0.1 for tests: it records every request
//! (method, path, headers, body) and answers with what the test's handler
//! says, after an optional delay. One thread per connection.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request line and headers, lower-cased, as `name: value` lines.
    pub fn head_lines(&self) -> Vec<String> {
        let mut lines =
            vec![format!("{} {} http/1.1", self.method, self.target).to_ascii_lowercase()];
        lines.extend(
            self.headers
                .iter()
                .map(|(name, value)| format!("{name}: {value}").to_ascii_lowercase()),
        );
        lines
    }

    /// Everything the request carried, as text (to look for a value in).
    pub fn everything(&self) -> String {
        let mut text = format!("{} {}\n", self.method, self.target);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push_str(&String::from_utf8_lossy(&self.body));
        text
    }
}

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (a slow provider).
    pub delay: Duration,
    pub delivery: Delivery,
}

/// How the answer goes out: whole, or broken in one of the ways a network breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Whole,
    /// Headers promising `length` bytes, then the body (fewer), then the connection closes.
    Truncated {
        length: usize,
    },
    /// Headers promising `length` bytes, the body (fewer), then silence.
    StallAfter {
        length: usize,
    },
    /// No answer at all, longer than any client waits.
    Stall,
}

impl Reply {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers,
            body,
            delay: Duration::ZERO,
            delivery: Delivery::Whole,
        }
    }

    pub fn json(status: u16, body: &str) -> Reply {
        let headers = vec![("Content-Type".into(), "application/json".into())];
        Reply::new(status, headers, body.as_bytes().to_vec())
    }

    pub fn redirect(to: &str) -> Reply {
        Reply::new(302, vec![("Location".into(), to.to_string())], Vec::new())
    }

    pub fn delivered(mut self, delivery: Delivery) -> Reply {
        self.delivery = delivery;
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, seen) = (Arc::clone(&handler), Arc::clone(&seen));
                std::thread::spawn(move || serve(stream, &*handler, &seen));
            }
        });
        Server { base, requests }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    // Keep-alive: several requests may come on one connection.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request {
            method,
            target,
            headers,
            body,
        };
        seen.lock().unwrap().push(request.clone());
        let reply = handler(&request);
        std::thread::sleep(reply.delay);
        if reply.delivery == Delivery::Stall {
            // Hold the connection open, silent, longer than the client waits.
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        let length = match reply.delivery {
            Delivery::Truncated { length } | Delivery::StallAfter { length } => length,
            Delivery::Whole | Delivery::Stall => reply.body.len(),
        };
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {length}\r\n",
            reply.status
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&reply.body).is_err() {
            return;
        }
        match reply.delivery {
            Delivery::Whole => {}
            Delivery::Truncated { .. } | Delivery::Stall => return,
            Delivery::StallAfter { .. } => {
                let _ = writer.flush();
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
        }
    }
}
