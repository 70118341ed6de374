//! `herald-server healthcheck` and `herald-worker healthcheck`: a container's HEALTHCHECK runs
//! the binary itself, so the runtime image needs no curl. One HTTP/1.1 GET over loopback.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// How long a probe may take in all; a container's HEALTHCHECK has its own, longer, timeout.
const TIMEOUT: Duration = Duration::from_secs(4);

/// Where to reach a listener bound to `bind`: a wildcard bind is reached over loopback.
fn reachable(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// `Ok` when `GET path` on the listener bound to `bind` answers 200; otherwise why not.
pub async fn probe(bind: SocketAddr, path: &str) -> Result<(), String> {
    let addr = reachable(bind);
    let url = format!("http://{addr}{path}");
    tokio::time::timeout(TIMEOUT, get_status(addr, path))
        .await
        .map_err(|_| format!("{url}: no answer within {} s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("{url}: {e}"))
        .and_then(|status| match status {
            200 => Ok(()),
            other => Err(format!("{url}: answered {other}")),
        })
}

async fn get_status(addr: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    // The status line is all that matters, and it comes first.
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    line.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP answer: {line:?}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A one-shot listener answering `reply` to the first request.
    async fn answering(reply: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(reply.as_bytes()).await;
        });
        addr
    }

    #[tokio::test]
    async fn ok_only_for_a_200() {
        let up = answering("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(probe(up, "/health").await, Ok(()));

        let degraded = answering("HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        let err = probe(degraded, "/health").await.unwrap_err();
        assert_eq!(err, format!("http://{degraded}/health: answered 503"));

        let garbage = answering("SSH-2.0-OpenSSH\r\n").await;
        let err = probe(garbage, "/health").await.unwrap_err();
        assert!(err.contains("not an HTTP answer"), "{err}");
    }

    #[tokio::test]
    async fn nothing_listening_is_a_clear_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = probe(SocketAddr::from(([0, 0, 0, 0], port)), "/api/health")
            .await
            .unwrap_err();
        assert!(
            err.starts_with(&format!("http://127.0.0.1:{port}/api/health: ")),
            "{err}"
        );
    }
}
