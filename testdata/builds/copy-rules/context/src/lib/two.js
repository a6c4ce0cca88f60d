lib2
