#!/usr/bin/perl
# Write a small MaxMind DB (GeoIP2-City layout) for the geo/policy unit tests.
#   mkfixture.pl OUT.mmdb NETWORK=CC,CONT[,LAT,LON] ...
# A network without LAT,LON gets a record with no location (tests the
# country fallback). Reserved ranges are kept and IPv6 aliases to IPv4 are
# made, as in the real databases.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: $0 OUT NETWORK=CC,CONT[,LAT,LON] ...\n";
my %types = (continent => 'map', country => 'map', location => 'map', code => 'utf8_string',
             iso_code => 'utf8_string', latitude => 'double', longitude => 'double');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 24, database_type => 'Aya-Test-City',
    languages => ['en'], description => { en => 'aya test fixture' },
    map_key_type_callback => sub { $types{ $_[0] } },
    remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1);
for my $arg (@ARGV) {
    my ($net, $spec) = split /=/, $arg, 2;
    my ($cc, $cont, $lat, $lon) = split /,/, $spec;
    my %rec = (continent => { code => $cont }, country => { iso_code => $cc });
    $rec{location} = { latitude => $lat + 0.0, longitude => $lon + 0.0 } if defined $lon;
    $tree->insert_network($net, \%rec);
}
open my $fh, '>:raw', "$out.tmp" or die "$out.tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "$out.tmp: $!\n";
rename "$out.tmp", $out or die "$out: $!\n";
