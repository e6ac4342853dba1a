//! Ingest load generator: the real collector (router + SQLite) in-process on 127.0.0.1, driven
//! over loopback by keep-alive HTTP/1.1 clients. Bounded by an event count and a time limit.
//!
//! `cargo run --release -p funnelcake-bench --bin loadgen -- [events] [clients] [batch] [seconds]`
//! (defaults: 300000 events, 4 clients, 100 events per batch, 60 s at most).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use funnelcake_bench::{event_id, event_json, percentile, start_server};

fn arg(i: usize, default: u64) -> u64 {
    std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// Sends one POST on a kept-alive connection and returns the status.
fn post(stream: &mut TcpStream, reader: &mut BufReader<TcpStream>, body: &str) -> std::io::Result<u16> {
    write!(
        stream,
        "POST /v1/batch HTTP/1.1\r\nHost: bench\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body.as_bytes())?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(status)
}

fn main() {
    let total = arg(1, 300_000);
    let clients = arg(2, 4).max(1);
    let batch = arg(3, 100).max(1);
    let limit = Duration::from_secs(arg(4, 60));
    let server = start_server(2);
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (addr, sent) = (server.addr, sent.clone());
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                stream.set_nodelay(true).ok();
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut latencies = Vec::new();
                let mut b = 0u64;
                while sent.load(Ordering::Relaxed) < total && started.elapsed() < limit {
                    let events: Vec<String> = (0..batch)
                        .map(|i| {
                            event_json(
                                &event_id(c * 1_000_000_000 + b, i),
                                "view_item",
                                1_732_270_000_000 + i as i64,
                                &format!("s{c}-{}", b % 500),
                                i,
                            )
                        })
                        .collect();
                    let body =
                        format!(r#"{{"v":1,"site":"bench","sent_at":1732270000000,"events":[{}]}}"#, events.join(","));
                    let t = Instant::now();
                    let status = post(&mut stream, &mut reader, &body).expect("post");
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    assert_eq!(status, 200, "collector answered {status}");
                    sent.fetch_add(batch, Ordering::Relaxed);
                    b += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<f64> = handles.into_iter().flat_map(|h| h.join().expect("client")).collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let events = sent.load(Ordering::Relaxed);
    println!("loadgen: {events} events in {} batches of {batch} from {clients} clients over loopback", latencies.len());
    println!(
        "  sustained ingest: {:.0} events/s ({elapsed:.2} s, target >= 50000 on 2 cores)",
        events as f64 / elapsed
    );
    println!(
        "  batch latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
}
