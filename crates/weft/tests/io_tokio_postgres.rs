//! Feature `tokio-io`: tokio-postgres, a crate written for `tokio::io`, runs a real query
//! against a real PostgreSQL server over `weft::net::TcpStream` on a weft runtime (no tokio
//! runtime): `Config::connect_raw(stream, NoTls)`, the connection future spawned on weft.

use tokio_postgres::{Config, NoTls};
use weft::net::TcpStream;
use weft_testkit::Postgres;

#[test]
fn tokio_postgres_query_over_a_weft_tcp_stream() {
    let pg = Postgres::start();
    let rt = weft::rt::Runtime::builder().loops(1).build().unwrap();
    rt.block_on(async {
        let config: Config = pg.url().parse().unwrap();
        let stream = TcpStream::connect(pg.addr()).await.unwrap();
        let (client, connection) = config.connect_raw(stream, NoTls).await.unwrap();
        let connection = weft::spawn(connection);

        // A parameterised query: a prepared statement, typed parameters and rows both ways.
        let rows = client
            .query(
                "SELECT $1::TEXT || ' from ' || current_user, $2::INT8 * 2",
                &[&"hello", &21i64],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<_, String>(0), "hello from postgres");
        assert_eq!(rows[0].get::<_, i64>(1), 42);

        // A table round trip, and a server error reported as one.
        client
            .batch_execute("CREATE TABLE t (id INT8 PRIMARY KEY, name TEXT NOT NULL)")
            .await
            .unwrap();
        for (id, name) in [(1i64, "one"), (2, "two"), (3, "three")] {
            client
                .execute("INSERT INTO t VALUES ($1, $2)", &[&id, &name])
                .await
                .unwrap();
        }
        let names: Vec<String> = client
            .query("SELECT name FROM t WHERE id >= $1 ORDER BY id", &[&2i64])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(names, ["two", "three"]);
        let duplicate = client
            .execute("INSERT INTO t VALUES (1, 'again')", &[])
            .await
            .unwrap_err();
        assert_eq!(
            duplicate.code(),
            Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
            "{duplicate}"
        );

        // Dropping the client ends the connection future cleanly.
        drop(client);
        weft::time::timeout(weft_testkit::DEADLINE, connection)
            .await
            .expect("the connection ends once the client is dropped")
            .unwrap()
            .unwrap();
    });
    drop(pg);
}
