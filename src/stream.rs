//! Read ahead while hashing: a large local file is read by one thread while the caller's
//! thread digests the chunk read before, so a verification costs about the larger of the
//! two (read or hash), not their sum.
//!
//! Memory stays constant: [`BUFFERS`] buffers of one chunk each go round between the two
//! threads through bounded channels, whatever the file size. The reader never asks the file
//! for more than `cap + 1` bytes, so a file that grows, or one that is far too large, costs
//! at most one chunk past the cap before it is refused.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::sync::mpsc;

/// Chunks in flight: one being read, one being hashed, one ready, so neither side waits
/// on the other when their speeds wobble. More would only use memory.
pub const BUFFERS: usize = 3;

/// Why a streamed file was not read to its end.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The file holds more than the cap allows; nothing past `cap + 1` bytes was read.
    #[error("larger than the limit of {0} bytes")]
    TooLarge(u64),
    /// Reading failed (or the reader thread could not be started).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Feeds every byte of `file`, in order, to `consume`, in chunks of at most `chunk` bytes,
/// reading the next chunk on another thread while `consume` works on the current one.
///
/// Returns the number of bytes fed. Refuses a file longer than `cap` bytes after reading at
/// most `cap + 1` of them; `consume` may by then have seen up to `cap` bytes, so callers
/// must throw away whatever they built from them (a digest) when this fails.
pub fn read_ahead<F>(file: File, cap: u64, chunk: usize, mut consume: F) -> Result<u64, StreamError>
where
    F: FnMut(&[u8]),
{
    let chunk = chunk.max(1);
    let mut reader = file.take(cap.saturating_add(1));
    // Filled buffers (with their length, or the error that stopped the reader) go one way,
    // emptied buffers come back the other way to be filled again.
    let (full_tx, full_rx) = mpsc::sync_channel::<std::io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);

    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("read-ahead".into())
            .spawn_scoped(scope, move || {
                let mut allocated = 0;
                loop {
                    // A new buffer only until BUFFERS exist; after that, wait for one to come
                    // back. An error here means the consumer stopped: so do we.
                    let mut buf = match empty_rx.try_recv() {
                        Ok(b) => b,
                        Err(_) if allocated < BUFFERS => {
                            allocated += 1;
                            vec![0u8; chunk]
                        }
                        Err(_) => match empty_rx.recv() {
                            Ok(b) => b,
                            Err(_) => return,
                        },
                    };
                    match fill(&mut reader, &mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            if full_tx.send(Ok((buf, n))).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = full_tx.send(Err(e));
                            return;
                        }
                    }
                }
            })?;

        // Dropping the receivers on any early return below (too large, read error) wakes the
        // reader from either channel; the scope then joins it before returning.
        let mut seen = 0u64;
        for msg in full_rx {
            let (buf, n) = msg?;
            seen = seen.saturating_add(n as u64);
            if seen > cap {
                return Err(StreamError::TooLarge(cap));
            }
            consume(&buf[..n]);
            // The reader may have finished and gone: then the buffer is simply dropped.
            let _ = empty_tx.send(buf);
        }
        Ok(seen)
    })
}

/// Reads until `buf` is full or the file ends, so each hand-over carries a whole chunk
/// (a pipe or a network file system may return less per call).
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        (dir, path)
    }

    /// Everything `read_ahead` handed over, and the chunk sizes it used.
    fn collect(
        path: &std::path::Path,
        cap: u64,
        chunk: usize,
    ) -> Result<(Vec<u8>, Vec<usize>), StreamError> {
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        let n = read_ahead(File::open(path).unwrap(), cap, chunk, |c| {
            got.extend_from_slice(c);
            sizes.push(c.len());
        })?;
        assert_eq!(n, got.len() as u64);
        Ok((got, sizes))
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
    }

    #[test]
    fn empty_file_feeds_nothing() {
        let (_d, p) = file_with(b"");
        let (got, sizes) = collect(&p, 10, 4).unwrap();
        assert!(got.is_empty());
        assert!(sizes.is_empty(), "no empty chunk is handed over: {sizes:?}");
        // A cap of zero still accepts an empty file.
        assert!(collect(&p, 0, 4).unwrap().0.is_empty());
    }

    #[test]
    fn exact_chunk_multiples_come_whole_and_in_order() {
        for len in [4, 8, 4 * 50] {
            let data = pattern(len);
            let (_d, p) = file_with(&data);
            let (got, sizes) = collect(&p, len as u64, 4).unwrap();
            assert_eq!(got, data);
            assert_eq!(
                sizes,
                vec![4; len / 4],
                "no short or empty chunk at the end"
            );
        }
    }

    #[test]
    fn odd_lengths_end_with_one_short_chunk() {
        let data = pattern(4 * 37 + 3);
        let (_d, p) = file_with(&data);
        let (got, sizes) = collect(&p, 1 << 20, 4).unwrap();
        assert_eq!(got, data);
        assert_eq!(sizes.last(), Some(&3));
        assert!(sizes[..sizes.len() - 1].iter().all(|&s| s == 4));
    }

    #[test]
    fn more_chunks_than_buffers_reuse_them() {
        // Many times BUFFERS chunks: the reader must get its buffers back to finish.
        let data = pattern(1000 * BUFFERS * 7 + 5);
        let (_d, p) = file_with(&data);
        let (got, _) = collect(&p, data.len() as u64, 7).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn exactly_the_cap_is_accepted_one_more_byte_is_refused() {
        let data = pattern(100);
        let (_d, p) = file_with(&data);
        assert_eq!(collect(&p, 100, 16).unwrap().0, data);
        let e = collect(&p, 99, 16).unwrap_err();
        assert!(matches!(e, StreamError::TooLarge(99)), "{e:?}");
        // Same when the cap falls on a chunk boundary.
        let e = collect(&p, 96, 16).unwrap_err();
        assert!(matches!(e, StreamError::TooLarge(96)), "{e:?}");
    }

    #[test]
    fn a_refused_file_never_reaches_the_consumer_past_the_cap() {
        // 8 MiB file, cap 10 bytes, 4-byte chunks: the third chunk would carry bytes 9..12,
        // so the refusal comes before it is consumed.
        let data = pattern(8 << 20);
        let (_d, p) = file_with(&data);
        let mut seen = 0usize;
        let e = read_ahead(File::open(&p).unwrap(), 10, 4, |c| seen += c.len()).unwrap_err();
        assert!(matches!(e, StreamError::TooLarge(10)), "{e:?}");
        assert!(seen <= 10, "consumer saw {seen} bytes past a cap of 10");
    }

    #[test]
    fn a_read_error_is_returned_not_swallowed() {
        // Reading a directory fails with EISDIR on Linux: a real read error from the kernel.
        let dir = tempfile::tempdir().unwrap();
        let f = File::open(dir.path()).unwrap();
        let mut called = false;
        let e = read_ahead(f, 1 << 20, 64, |_| called = true).unwrap_err();
        assert!(matches!(e, StreamError::Io(_)), "{e:?}");
        assert!(!called);
    }

    /// `fetch::digest_local`, which `verify --key/--sig` streams signed files through:
    /// digests equal the one-shot reference across 256 KiB chunk boundaries, and each way
    /// of failing keeps its own error.
    #[test]
    fn digest_local_streams_through_read_ahead() {
        use crate::fetch::{FetchError, digest_local};
        use crate::schemes::{Prehash, Prehasher};

        let data = pattern(3 * 256 * 1024 + 17);
        let (_d, p) = file_with(&data);
        for h in [Prehash::Sha512, Prehash::Sha256, Prehash::Blake2b512] {
            assert_eq!(
                digest_local(&p, data.len() as u64, h).unwrap(),
                Prehasher::digest(h, &data).unwrap(),
                "{h:?}"
            );
        }
        let cap = data.len() as u64 - 1;
        assert_eq!(
            digest_local(&p, cap, Prehash::Sha512),
            Err(FetchError::TooLarge(cap))
        );
        let missing = p.with_file_name("missing");
        assert_eq!(
            digest_local(&missing, 10, Prehash::Sha512),
            Err(FetchError::NotFound(None))
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            digest_local(dir.path(), 10, Prehash::Sha512),
            Err(FetchError::Io(_))
        ));
        assert!(matches!(
            digest_local(&p, 1 << 30, Prehash::None),
            Err(FetchError::Io(_))
        ));
    }
}
