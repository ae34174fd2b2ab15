a {
  b {
