package h5

// Views of self-registration (handler/register.go): the person scans the
// QR code, chooses 教职工 or 学生, signs in to CAS, enters name and mobile
// and is enrolled, or told which check failed and what to do.

// RegisterType is one choice on the start page.
type RegisterType struct {
	// Key is the type ("faculty", "student"), Name its Chinese name,
	// IDName what its id is called (工号, 学号), Href where choosing it goes.
	Key, Name, IDName, Href string
}

// Register is the start page (page register): the type choice, or why
// self-registration is not open (Off). Poster is the printable variant for
// admins: the QR code large, with the steps.
type Register struct {
	Page
	Off    bool
	Poster bool
	Types  []RegisterType
	// QR is the QR code image's URL; URL is the address it points at.
	QR, URL string
	// Problem says why the previous step did not work (an expired or
	// foreign link, a refused ticket): the person starts again here.
	Problem string
	Contact string
}

// RegisterRefusal is a refusal as pages show it: the check that failed
// (selfreg's name, e.g. "name_mismatch"), what is wrong and what to do.
type RegisterRefusal struct {
	Check, Message, Advice string
}

// RegisterForm asks the person CAS verified for their name and mobile
// (page register_form). After a refusal the person can fix (a typo in the
// name or phone) it shows again with Refusal and the values entered;
// FieldError (keys "name", "mobile") says what is wrong with the input.
type RegisterForm struct {
	Page
	// TypeName and IDName are the chosen type's (教职工 / 工号); UserID is
	// the id CAS verified.
	TypeName, IDName, UserID string
	Name, Mobile             string
	FieldError               map[string]string
	Refusal                  *RegisterRefusal
}

// RegisterRefused is a refusal that filling the form again cannot fix
// (page register_refused), or a registration that failed on our side
// (Failed, with Refusal's Message and Advice saying so).
type RegisterRefused struct {
	Page
	Refusal RegisterRefusal
	Failed  bool
	// Restart: choosing the type again helps (type_mismatch).
	Restart bool
	Contact string
}

// RegisterDone is the welcome after enrolment (page register_done), with
// the steps to log in to WeCom and follow the WeChat plugin. Mobile is
// masked.
type RegisterDone struct {
	Page
	UserID, Name, TypeName, Mobile string
	// Welcomed: the welcome message was sent; otherwise the page says it
	// will not arrive (the account works all the same).
	Welcomed bool
	Contact  string
}
