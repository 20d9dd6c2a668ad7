//! Hashes MIB MiB (in 256 KiB updates, like fetch::digest_local) with each implementation,
//! ROUNDS times, interleaved so that other load on the machine hits all of them alike, and
//! prints the best and the median throughput of each. On a shared machine the median is
//! the fairer comparison; the best is closest to what a quiet machine gives.

use std::time::Instant;

fn run(alg: &str, chunk: &[u8], n: usize) -> Vec<u8> {
    match alg {
        "sha2-512" => {
            use sha2::Digest;
            let mut h = sha2::Sha512::new();
            (0..n).for_each(|_| h.update(chunk));
            h.finalize().to_vec()
        }
        "sha2-256" => {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            (0..n).for_each(|_| h.update(chunk));
            h.finalize().to_vec()
        }
        "awslc-512" | "awslc-256" => {
            let a = if alg.ends_with("512") {
                &aws_lc_rs::digest::SHA512
            } else {
                &aws_lc_rs::digest::SHA256
            };
            let mut h = aws_lc_rs::digest::Context::new(a);
            (0..n).for_each(|_| h.update(chunk));
            h.finish().as_ref().to_vec()
        }
        "ring-512" | "ring-256" => {
            let a = if alg.ends_with("512") {
                &ring::digest::SHA512
            } else {
                &ring::digest::SHA256
            };
            let mut h = ring::digest::Context::new(a);
            (0..n).for_each(|_| h.update(chunk));
            h.finish().as_ref().to_vec()
        }
        "grav-512" => {
            let mut h = graviola::hashing::sha2::Sha512Context::new();
            (0..n).for_each(|_| h.update(chunk));
            h.finish().to_vec()
        }
        "ossl-512" => {
            let mut h = openssl::sha::Sha512::new();
            (0..n).for_each(|_| h.update(chunk));
            h.finish().to_vec()
        }
        "ossl-256" => {
            let mut h = openssl::sha::Sha256::new();
            (0..n).for_each(|_| h.update(chunk));
            h.finish().to_vec()
        }
        "blake2-b" => {
            use blake2::Digest;
            let mut h = blake2::Blake2b512::new();
            (0..n).for_each(|_| h.update(chunk));
            h.finalize().to_vec()
        }
        "simd-b" => {
            let mut h = blake2b_simd::State::new();
            (0..n).for_each(|_| {
                h.update(chunk);
            });
            h.finalize().as_bytes().to_vec()
        }
        "ossl-b" => {
            let mut h = openssl::hash::Hasher::new(
                openssl::hash::MessageDigest::from_name("BLAKE2B-512").unwrap_or_else(|| {
                    eprintln!("no BLAKE2B-512 in this libcrypto");
                    std::process::exit(2)
                }),
            )
            .unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(2)
            });
            (0..n).for_each(|_| {
                let _ = h.update(chunk);
            });
            h.finish().map(|d| d.to_vec()).unwrap_or_default()
        }
        other => {
            eprintln!("unknown implementation {other}");
            std::process::exit(2)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let default = "sha2-512,awslc-512,ring-512,grav-512,ossl-512";
    let algs: Vec<&str> = args
        .get(1)
        .map_or(default, String::as_str)
        .split(',')
        .collect();
    let mib: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let rounds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(30);
    let chunk: Vec<u8> = (0..256 * 1024)
        .map(|i: usize| (i * 7 + i / 255) as u8)
        .collect();
    let n = mib * 4;
    let mut times = vec![Vec::new(); algs.len()];
    let mut digests = vec![Vec::new(); algs.len()];
    for _ in 0..rounds {
        for (i, alg) in algs.iter().enumerate() {
            let t = Instant::now();
            digests[i] = std::hint::black_box(run(alg, &chunk, n));
            times[i].push(t.elapsed().as_secs_f64());
        }
    }
    let gbs = |secs: f64| (mib << 20) as f64 / secs / 1e9;
    for (i, alg) in algs.iter().enumerate() {
        times[i].sort_by(f64::total_cmp);
        let d: String = digests[i][..8].iter().map(|b| format!("{b:02x}")).collect();
        println!(
            "{alg:10} best {:.3} GB/s  median {:.3} GB/s  (digest {d}…)",
            gbs(times[i][0]),
            gbs(times[i][rounds / 2])
        );
    }
}
