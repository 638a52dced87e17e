//! The IMAP server of these tests: the test kit's Dovecot, and the alerts delivered to it.

pub use penny_testkit::dovecot::Dovecot;

/// A small alert message with a unique Message-ID.
pub fn alert(n: u32) -> Vec<u8> {
    format!(
        "Message-ID: <imap-{n}@bank.example>\r\nFrom: Bank <alerts@bank.example>\r\nTo: alice@x.example\r\n\
         Subject: Card purchase {n}\r\nDate: Tue, 06 Jan 2026 10:{:02}:00 +0000\r\n\r\nYou spent ${n}.00 at Shop {n}.\r\n",
        n % 60
    )
    .into_bytes()
}
