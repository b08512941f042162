"""The National Business Registration Database (BTC): enterprises, their legal
representatives and owners, and household businesses."""
