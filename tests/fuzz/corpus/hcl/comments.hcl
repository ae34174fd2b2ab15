# c
// c
/* c
 */ a = 1 # t
