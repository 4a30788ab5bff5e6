//! The `switchboard-gateway` command line: bad options end with exit code 2 and a message
//! naming the problem, before anything connects; the secret is never echoed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard-gateway");

fn run(args: &[&str], secret: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not used before the options are checked").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .args(["--ca", ca.to_str().unwrap(), "--connection", "conn_x"])
        .args(args);
    if let Some(secret) = secret {
        cmd.env("SWITCHBOARD_GATEWAY_SECRET", secret);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_options_exit_2_with_a_clear_message() {
    let secret = Some("sbs_do_not_print_me");
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (
            &["--broker", "mqtts://localhost:8883", "--side", "source"],
            None,
            "secret",
        ),
        (
            &["--broker", "tcp://localhost:1883", "--side", "source"],
            secret,
            "--broker",
        ),
        (
            &[
                "--broker",
                "mqtts://localhost:8883",
                "--side",
                "source",
                "--forward",
                "127.0.0.1:1",
            ],
            secret,
            "--forward is for the target side",
        ),
        (
            &[
                "--broker",
                "mqtts://localhost:8883",
                "--side",
                "target",
                "--listen",
                "127.0.0.1:0",
            ],
            secret,
            "--listen is for the source side",
        ),
        (
            &[
                "--broker",
                "mqtts://localhost:8883",
                "--side",
                "source",
                "--keep-alive-secs",
                "2",
            ],
            secret,
            "--keep-alive-secs",
        ),
    ];
    for (args, secret, expect) in cases {
        let (code, err) = run(args, *secret);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("do_not_print_me"), "{args:?}: {err}");
    }
    // An unknown side is refused by the parser, also with code 2.
    let (code, err) = run(&["--broker", "mqtts://h:1", "--side", "middle"], secret);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("source or target"), "{err}");
}
