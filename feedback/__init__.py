"""What people tell the app about its hands: the arena's votes stored (store), ranked (leaderboard), exported."""
