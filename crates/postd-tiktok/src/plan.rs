//! The chunk plan of a `FILE_UPLOAD`, exactly as TikTok's Media Transfer
//! Guide states it (<https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide>):
//!
//! - `total_chunk_count = floor(video_size / chunk_size)`: the bytes left
//!   over join the **last** chunk, which may exceed `chunk_size` (up to 128 MB);
//! - every chunk is at least 5 MB and at most 64 MB, except the last;
//! - a video under 5 MB goes whole (`chunk_size = video_size`, one chunk),
//!   and one over 64 MB must be chunked;
//! - 1 to 1000 chunks, sent in order.
//!
//! "MB" is not defined there, so the plan uses sizes valid under both
//! readings (10^6 and 2^20 bytes): one chunk up to 64,000,000 bytes, and
//! chunks of 5,242,880 to 32,000,000 bytes above that (so the last chunk,
//! under twice the chunk size, stays under 64,000,000 too).

use postd_core::{Error, ErrorKind, Platform, Result};

/// The most chunks TikTok takes.
pub(crate) const MAX_CHUNKS: u64 = 1000;

/// The largest video TikTok takes ("4 GB", read as the smaller 4,000,000,000 bytes).
pub(crate) const MAX_VIDEO_BYTES: u64 = 4_000_000_000;

/// How a video is cut into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkPlan {
    pub(crate) video_size: u64,
    pub(crate) chunk_size: u64,
    pub(crate) total_chunk_count: u64,
}

impl ChunkPlan {
    /// The plan for `video_size` bytes with chunks of `chunk_size` above
    /// `single_chunk_max` (both as [`TikTokConfig`](crate::TikTokConfig) checks them).
    pub(crate) fn new(video_size: u64, chunk_size: u64, single_chunk_max: u64) -> Result<Self> {
        let refuse = |why: String| {
            Err(Error::new(ErrorKind::MediaRejected, why).with_platform(Platform::TikTok))
        };
        if video_size == 0 {
            return refuse("the video is empty".to_owned());
        }
        if video_size > MAX_VIDEO_BYTES {
            return refuse(format!(
                "the video is {video_size} bytes; TikTok takes at most {MAX_VIDEO_BYTES}"
            ));
        }
        // The settings' fields are public: a plan never trusts them.
        if !crate::config::CHUNK_SIZE_RANGE.contains(&chunk_size)
            || single_chunk_max > crate::config::DEFAULT_SINGLE_CHUNK_MAX
        {
            return Err(Error::config(format!(
                "the TikTok chunk size {chunk_size} or single-chunk maximum {single_chunk_max} is outside what TikTok takes (see TikTokConfig::with_chunking)"
            ))
            .with_platform(Platform::TikTok));
        }
        let total_chunk_count = video_size / chunk_size;
        if video_size <= single_chunk_max || total_chunk_count <= 1 {
            // One chunk is the whole video (under twice the chunk size, so under 64 MB).
            return Ok(ChunkPlan {
                video_size,
                chunk_size: video_size,
                total_chunk_count: 1,
            });
        }
        if total_chunk_count > MAX_CHUNKS {
            return refuse(format!(
                "the video needs {total_chunk_count} chunks of {chunk_size} bytes; TikTok takes at most {MAX_CHUNKS}"
            ));
        }
        Ok(ChunkPlan {
            video_size,
            chunk_size,
            total_chunk_count,
        })
    }

    /// Bytes `[first, last]` of chunk `i` (0-based): the last chunk takes the remainder.
    pub(crate) fn range(&self, i: u64) -> (u64, u64) {
        let first = i * self.chunk_size;
        let last = if i + 1 == self.total_chunk_count {
            self.video_size - 1
        } else {
            first + self.chunk_size - 1
        };
        (first, last)
    }

    /// The chunk starting at byte `offset`, if a chunk starts there.
    pub(crate) fn chunk_at(&self, offset: u64) -> Option<u64> {
        (offset.is_multiple_of(self.chunk_size)
            && offset / self.chunk_size < self.total_chunk_count)
            .then(|| offset / self.chunk_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CHUNK_SIZE_RANGE, DEFAULT_CHUNK_SIZE, DEFAULT_SINGLE_CHUNK_MAX};

    const MB: u64 = 1_000_000;
    const MIB: u64 = 1 << 20;

    fn plan(size: u64) -> ChunkPlan {
        ChunkPlan::new(size, DEFAULT_CHUNK_SIZE, DEFAULT_SINGLE_CHUNK_MAX).unwrap()
    }

    fn content_range(p: &ChunkPlan, i: u64) -> String {
        let (a, b) = p.range(i);
        format!("bytes {a}-{b}/{}", p.video_size)
    }

    /// The rules of the guide, checked against a plan under both readings of "MB".
    fn obeys_the_guide(p: &ChunkPlan) -> Result<(), String> {
        let n = p.total_chunk_count;
        if n == 0 || n > MAX_CHUNKS {
            return Err(format!("{n} chunks"));
        }
        if n != p.video_size / p.chunk_size {
            return Err(format!(
                "count {n} is not floor({} / {})",
                p.video_size, p.chunk_size
            ));
        }
        if n == 1 {
            if p.chunk_size != p.video_size {
                return Err("one chunk must be the whole video".into());
            }
            if p.video_size > 64 * MB {
                return Err("over 64 MB must be chunked".into());
            }
            return Ok(());
        }
        if p.chunk_size < 5 * MIB || p.chunk_size > 64 * MB {
            return Err(format!("chunk size {}", p.chunk_size));
        }
        let (first, last) = p.range(n - 1);
        let final_len = last - first + 1;
        if final_len < p.chunk_size || final_len > 128 * MB {
            return Err(format!("final chunk of {final_len}"));
        }
        // Chunks tile the file exactly.
        let mut next = 0;
        for i in 0..n {
            let (a, b) = p.range(i);
            if a != next {
                return Err(format!("chunk {i} starts at {a}, expected {next}"));
            }
            next = b + 1;
        }
        if next != p.video_size {
            return Err("chunks do not cover the video".into());
        }
        Ok(())
    }

    #[test]
    fn the_documented_sizes_give_the_documented_ranges() {
        let p = plan(3_000_000);
        assert_eq!((p.chunk_size, p.total_chunk_count), (3_000_000, 1));
        assert_eq!(content_range(&p, 0), "bytes 0-2999999/3000000");

        let p = plan(64_000_000);
        assert_eq!((p.chunk_size, p.total_chunk_count), (64_000_000, 1));
        assert_eq!(content_range(&p, 0), "bytes 0-63999999/64000000");

        let p = plan(64_000_001);
        assert_eq!((p.chunk_size, p.total_chunk_count), (10_000_000, 6));
        assert_eq!(content_range(&p, 5), "bytes 50000000-64000000/64000001");

        // The guide's example, with the single-chunk maximum lowered to force chunking.
        let p = ChunkPlan::new(50_000_123, 10_000_000, 10_000_000).unwrap();
        assert_eq!(p.total_chunk_count, 5);
        assert_eq!(content_range(&p, 0), "bytes 0-9999999/50000123");
        assert_eq!(content_range(&p, 4), "bytes 40000000-50000122/50000123");
        for p in [plan(3_000_000), plan(64_000_000), plan(64_000_001), p] {
            obeys_the_guide(&p).unwrap();
        }
    }

    #[test]
    fn every_boundary_obeys_the_guide() {
        for size in [
            1,
            5 * MB - 1,
            5 * MB,
            5 * MIB,
            10 * MB - 1,
            10 * MB,
            64 * MB - 1,
            64 * MB,
            64 * MB + 1,
            64 * MIB,
            64 * MIB + 1,
            128 * MB,
            1 << 30,
            MAX_VIDEO_BYTES - 1,
            MAX_VIDEO_BYTES,
        ] {
            for chunk in [
                *CHUNK_SIZE_RANGE.start(),
                DEFAULT_CHUNK_SIZE,
                *CHUNK_SIZE_RANGE.end(),
            ] {
                let p = ChunkPlan::new(size, chunk, DEFAULT_SINGLE_CHUNK_MAX).unwrap();
                obeys_the_guide(&p).unwrap_or_else(|e| panic!("{size} / {chunk}: {e}"));
            }
        }
        for bad in [0, MAX_VIDEO_BYTES + 1] {
            assert_eq!(
                ChunkPlan::new(bad, DEFAULT_CHUNK_SIZE, DEFAULT_SINGLE_CHUNK_MAX)
                    .unwrap_err()
                    .kind(),
                ErrorKind::MediaRejected
            );
        }
    }

    /// Over many sizes the plan obeys the guide, and a plan counted with
    /// `ceil` (the bug peers shipped) is refused by the same check wherever
    /// the two differ.
    #[test]
    fn property_plans_obey_the_guide_and_a_ceil_plan_does_not() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut differed = 0;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let size = 1 + x % MAX_VIDEO_BYTES;
            let chunk = CHUNK_SIZE_RANGE.start()
                + (x >> 32) % (CHUNK_SIZE_RANGE.end() - CHUNK_SIZE_RANGE.start() + 1);
            let p = ChunkPlan::new(size, chunk, DEFAULT_SINGLE_CHUNK_MAX).unwrap();
            obeys_the_guide(&p).unwrap_or_else(|e| panic!("{size} / {chunk}: {e}"));
            if p.total_chunk_count > 1 && !size.is_multiple_of(chunk) {
                let ceil = ChunkPlan {
                    total_chunk_count: size.div_ceil(chunk),
                    ..p
                };
                assert!(
                    obeys_the_guide(&ceil).is_err(),
                    "a ceil plan passed for {size} / {chunk}"
                );
                differed += 1;
            }
        }
        assert!(
            differed > 10_000,
            "the property saw too few chunked sizes: {differed}"
        );
    }

    /// Every single-chunk maximum the settings allow, around the sizes
    /// where one chunk becomes two.
    #[test]
    fn lower_single_chunk_maximums_obey_the_guide() {
        for chunk in [
            *CHUNK_SIZE_RANGE.start(),
            DEFAULT_CHUNK_SIZE,
            *CHUNK_SIZE_RANGE.end(),
        ] {
            for max in [chunk, chunk + 1, 3 * chunk / 2, DEFAULT_SINGLE_CHUNK_MAX] {
                if max > DEFAULT_SINGLE_CHUNK_MAX {
                    continue;
                }
                for size in [
                    chunk - 1,
                    chunk,
                    chunk + 1,
                    max,
                    max + 1,
                    3 * chunk / 2,
                    2 * chunk - 1,
                    2 * chunk,
                    2 * chunk + 1,
                ] {
                    let p = ChunkPlan::new(size, chunk, max).unwrap();
                    obeys_the_guide(&p)
                        .unwrap_or_else(|e| panic!("{size} / {chunk} (max {max}): {e}"));
                }
            }
        }
    }

    #[test]
    fn settings_outside_the_rules_are_refused_not_divided_by() {
        for (chunk, max) in [
            (0, DEFAULT_SINGLE_CHUNK_MAX),
            (1, DEFAULT_SINGLE_CHUNK_MAX),
            (64 * MB, DEFAULT_SINGLE_CHUNK_MAX),
            (DEFAULT_CHUNK_SIZE, DEFAULT_SINGLE_CHUNK_MAX + 1),
        ] {
            let err = ChunkPlan::new(100 * MB, chunk, max).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{chunk} / {max}");
        }
    }

    #[test]
    fn a_chunk_starts_only_at_a_boundary() {
        let p = plan(64_000_001);
        assert_eq!(p.chunk_at(0), Some(0));
        assert_eq!(p.chunk_at(50_000_000), Some(5));
        assert_eq!(p.chunk_at(60_000_000), None);
        assert_eq!(p.chunk_at(5), None);
    }
}
