//! minipod's nftables table loaded into the kernel (privileged). The table has a name of the
//! test's own and is deleted even when the test fails; nothing else of the host's ruleset is
//! touched.

use std::process::Command;

use minipod_net::host::{apply_nft, delete_nft_table, masquerade_ruleset, Ipv4Net};

struct Table(String);

impl Drop for Table {
    fn drop(&mut self) {
        let _ = delete_nft_table(&self.0);
    }
}

fn list(table: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "ip", table])
        .output()
        .expect("run nft (scripts/install-deps.sh installs nftables)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_table_is_created_replaced_whole_and_deleted() {
    if !minipod_testsupport::privileged() {
        return;
    }
    let table = Table(format!("minipod_test_{}", std::process::id()));
    let first = Ipv4Net::parse("198.19.10.0/24").unwrap();
    apply_nft(&masquerade_ruleset(&table.0, &first)).unwrap();
    let listed = list(&table.0).expect("the table exists");
    assert!(
        listed.contains("ip saddr 198.19.10.0/24 ip daddr != 198.19.10.0/24 masquerade"),
        "{listed}"
    );
    // Applying again with another range replaces the rules instead of adding to them.
    let second = Ipv4Net::parse("198.19.20.0/24").unwrap();
    apply_nft(&masquerade_ruleset(&table.0, &second)).unwrap();
    let listed = list(&table.0).unwrap();
    assert!(!listed.contains("198.19.10.0/24"), "{listed}");
    assert_eq!(listed.matches("masquerade").count(), 1, "{listed}");
    delete_nft_table(&table.0).unwrap();
    assert!(list(&table.0).is_none());
    // Deleting a table that is not there is not an error.
    delete_nft_table(&table.0).unwrap();
}
