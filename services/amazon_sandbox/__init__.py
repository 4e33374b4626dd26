"""A local stand-in for Amazon's Selling Partner API (docs/design.md §7).

It speaks SP-API on Amazon's paths and JSON shapes, keeps each seller's listings, catalog
and orders in memory, processes feeds and reports over (scaled) time and throttles every
operation with Amazon's token buckets, so the rest of the system can be run and tested
without an Amazon account. ``python -m services.amazon_sandbox`` runs it.
"""
