//! Files in an order's chat: receipts and statements as PNG, JPEG or PDF, their type read from
//! their first bytes (a header says what a client claims, the bytes what the file is).

use super::ids::{OrderId, UserId};
use super::order::Participant;
use super::time::Millis;

/// The largest attachment: 5 MiB.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
/// The most attachments one order keeps.
pub const MAX_ATTACHMENTS_PER_ORDER: i64 = 20;

/// What a file is, by its magic bytes: PNG, JPEG or PDF; anything else is refused.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 3] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"%PDF-", "application/pdf"),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, kind)| *kind)
}

/// The file name extension of a sniffed type, for downloads.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "pdf",
    }
}

/// An attachment as kept, without its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: i64,
    pub order_id: OrderId,
    pub uploader_id: UserId,
    pub uploader_role: Participant,
    pub content_type: String,
    pub size: i64,
    /// Hex.
    pub sha256: String,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_say_what_a_file_is() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), Some("image/jpeg"));
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3"), Some("application/pdf"));
    }

    #[test]
    fn executables_and_everything_else_are_refused() {
        for refused in [
            &b"\x7fELF\x02\x01\x01"[..],
            b"MZ\x90\0\x03\0\0\0",
            b"#!/bin/sh\nrm -rf /",
            b"<svg onload=alert(1)>",
            b"\x89PN",
            b"",
        ] {
            assert_eq!(sniff(refused), None, "{refused:?}");
        }
    }
}
