#!/usr/bin/env python3
# Turn a binary file into a C array: bin2c.py INPUT OUTPUT NAME
import sys

data = open(sys.argv[1], "rb").read()
name = sys.argv[3]
with open(sys.argv[2], "w") as out:
    out.write("/* generated from %s by bin2c.py */\n" % sys.argv[1].split("/")[-1])
    out.write("#include <stddef.h>\n")
    out.write("const unsigned char %s[] __attribute__((aligned(4096))) = {\n" % name)
    for i in range(0, len(data), 12):
        out.write("\t" + ", ".join("0x%02x" % b for b in data[i:i + 12]) + ",\n")
    out.write("};\nconst size_t %s_size = %d;\n" % (name, len(data)))
