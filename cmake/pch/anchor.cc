int cvm_pch_anchor;
