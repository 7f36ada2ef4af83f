//! `weft::dns::lookup_host`: names resolve on the dns lane, numeric
//! addresses need no job, bad input and unknown names are clear errors.

mod pool_support;

use pool_support::block_on as run;

use std::io::ErrorKind;
use std::net::SocketAddr;

use weft::dns::lookup_host;
use weft::pool::Lane;
use weft::rt::current_pool;

#[test]
fn localhost_resolves_on_the_dns_lane() {
    run(async {
        let before = current_pool().metrics().lane(Lane::Dns).completed;
        let addrs: Vec<SocketAddr> = lookup_host("localhost:8080").await.unwrap().collect();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.port() == 8080 && a.ip().is_loopback()),
            "{addrs:?}"
        );
        assert!(current_pool().metrics().lane(Lane::Dns).completed > before);
        let pair: Vec<_> = lookup_host(("localhost", 9)).await.unwrap().collect();
        assert!(
            pair.iter().all(|a| a.port() == 9 && a.ip().is_loopback()),
            "{pair:?}"
        );
    });
}

#[test]
fn numeric_and_malformed_input_need_no_job() {
    run(async {
        let a: Vec<_> = lookup_host("127.0.0.1:80").await.unwrap().collect();
        assert_eq!(a, ["127.0.0.1:80".parse::<SocketAddr>().unwrap()]);
        let err = lookup_host("localhost").await.map(drop).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("`localhost`"), "{err}");
    });
}

#[test]
fn unknown_name_error_names_it() {
    run(async {
        // `.invalid` is reserved (RFC 2606): it never resolves.
        let err = lookup_host("no-such-host.invalid:80")
            .await
            .map(drop)
            .unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid:80"), "{err}");
        assert!(std::error::Error::source(err.get_ref().unwrap()).is_some());
    });
}
