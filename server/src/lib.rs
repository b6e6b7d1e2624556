//! `pls serve`: Plasmite pools over HTTP(S). Built out by the server issue.
