//! Tests of the TikTok fake, driven with plain reqwest.
