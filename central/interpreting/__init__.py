"""The sign-language interpreter service: signalling relay, ACD, records, reports, staffing."""
