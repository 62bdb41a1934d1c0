package model

// qopLowerers lower the QOperator ops (QLinearConv and friends).
var qopLowerers = map[string]lowerer{}

// qopOutParams returns the output parameters of QOperator node i.
func (p *plan) qopOutParams(i int) (qparams, bool) { return qparams{}, false }
