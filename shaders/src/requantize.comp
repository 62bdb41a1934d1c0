// requantize.comp - engine.Requantize.
// P: 0 n, 1 input type, 2 input zero point, 3 channels, 4 inner; 21.. epilogue.
#include_epilogue

uint valueAt(uint i) {
    int acc = LOADQ(BX, PU(1), i) - PI(2);
    return epilogue(acc, (i / PU(4)) % PU(3));
}

void main() {
    uint n = PU(0);
    uint wi = gid();
    if (wi * perWord(PU(22)) >= n) return;
    STORE_OUTPUT(wi, n, valueAt(i))
}
