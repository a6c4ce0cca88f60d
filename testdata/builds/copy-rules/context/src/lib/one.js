lib1
