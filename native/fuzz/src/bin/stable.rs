//! The fuzz target's check on stable Rust, without libFuzzer:
//!
//!   cargo run --release --no-default-features --bin stable -- [--seconds N] [--seed S] [--max-len L] [--stats]
//!   cargo run --release --no-default-features --bin stable -- FILE...   (replay inputs, e.g. crashes)
//!   cargo run --release --no-default-features --bin stable -- --emit DIR N   (seed a corpus)
//!
//! Random inputs come from a seeded xorshift64*, shaped like the target's layout (three config
//! bytes, a split, structured bytes, then raw bytes that are sometimes a well-formed encoded
//! batch with a few bytes flipped). A failing input is written to `artifacts/stable/` and its
//! hex printed; the process then exits with status 1.

use std::panic;
use std::time::{Duration, Instant};

use bot4_native_fuzz::{Stats, check_stats, encode, structured};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn input(rng: &mut XorShift, max_len: usize) -> Vec<u8> {
    let mut data = vec![rng.next() as u8, rng.next() as u8, rng.next() as u8];
    let head_len = rng.below(max_len as u64) as usize;
    let head = rng.bytes(head_len);
    let raw = match rng.below(4) {
        0 => Vec::new(),
        1 => {
            let n = rng.below(64) as usize;
            rng.bytes(n)
        }
        _ => {
            // a valid encoding of other structured requests, lightly corrupted
            let n = rng.below(max_len as u64 / 2) as usize;
            let src = rng.bytes(n);
            let mut raw = encode(&structured(&src));
            for _ in 0..rng.below(3) {
                if !raw.is_empty() {
                    let i = rng.below(raw.len() as u64) as usize;
                    raw[i] = rng.next() as u8;
                }
            }
            raw
        }
    };
    let mut split = head.len() as u16 & 0x7FFF;
    if rng.below(2) == 0 {
        split |= 0x8000;
    }
    data.extend_from_slice(&split.to_le_bytes());
    data.extend_from_slice(&head);
    data.extend_from_slice(&raw);
    data
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn run_one(data: &[u8], n: u64, stats: &mut Stats) -> bool {
    let got = panic::catch_unwind(|| check_stats(data));
    let ok = got.is_ok();
    if let Ok(s) = got {
        stats.merge(&s);
    }
    if !ok {
        let dir = std::path::Path::new("artifacts/stable");
        let _ = std::fs::create_dir_all(dir);
        let path = dir.join(format!("crash-{n}"));
        let _ = std::fs::write(&path, data);
        eprintln!(
            "FAILED on input #{n} ({} bytes), saved to {}\nhex: {}",
            data.len(),
            path.display(),
            hex(data)
        );
    }
    ok
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut seconds, mut seed, mut max_len, mut files) =
        (60u64, 0x9E37_79B9_7F4A_7C15u64, 600usize, Vec::new());
    let mut show_stats = false;
    let mut emit: Option<(String, u64)> = None;
    let mut stats = Stats::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            "--seed" => seed = it.next().and_then(|v| v.parse().ok()).expect("--seed S"),
            "--max-len" => max_len = it.next().and_then(|v| v.parse().ok()).expect("--max-len L"),
            "--stats" => show_stats = true,
            "--emit" => {
                let dir = it.next().expect("--emit DIR N").to_owned();
                let n = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--emit DIR N");
                emit = Some((dir, n));
            }
            f => files.push(f.to_owned()),
        }
    }
    if !files.is_empty() {
        for (i, f) in files.iter().enumerate() {
            let data = std::fs::read(f).expect("readable input");
            if !run_one(&data, i as u64, &mut stats) {
                std::process::exit(1);
            }
            println!("{f}: ok");
        }
        return;
    }
    let mut rng = XorShift(seed | 1);
    if let Some((dir, count)) = emit {
        std::fs::create_dir_all(&dir).expect("a corpus directory");
        for i in 0..count {
            let data = input(&mut rng, max_len);
            std::fs::write(format!("{dir}/seed-{i:05}"), data).expect("a seed written");
        }
        println!("stable: {count} seeds written to {dir}");
        return;
    }
    let (start, limit) = (Instant::now(), Duration::from_secs(seconds));
    let mut n = 0u64;
    let mut bytes = 0u64;
    while start.elapsed() < limit {
        let data = input(&mut rng, max_len);
        bytes += data.len() as u64;
        if !run_one(&data, n, &mut stats) {
            println!("stable: {n} inputs ran before the failure, seed {seed}");
            std::process::exit(1);
        }
        n += 1;
        if n.is_power_of_two() {
            println!("#{n} inputs, {:.1}s", start.elapsed().as_secs_f64());
        }
    }
    if show_stats {
        println!(
            "requests {} (raw parts decoded {}, raw requests {})",
            stats.requests, stats.raw_decoded, stats.raw_requests
        );
        for (k, v) in stats.answers.iter().chain(&stats.events) {
            println!("{v:>10}  {k}");
        }
    }
    println!(
        "stable: {n} inputs ({bytes} bytes) in {:.1}s, seed {seed}, no failure",
        start.elapsed().as_secs_f64()
    );
}
